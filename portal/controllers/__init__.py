"""All route handlers of the portal package."""

from portal.controllers.account_security import AccountSecurityPages
from portal.controllers.accounts import AccountPages
from portal.controllers.api import BureauApi, CampaignApi
from portal.controllers.audit_log import AuditLogPages
from portal.controllers.auth import AuthPages
from portal.controllers.bureaus import BureauPages
from portal.controllers.health import HealthChecks
from portal.controllers.identity import SiteIdentityPages, SiteLogo
from portal.controllers.messages import MessagePages
from portal.controllers.preview import MarkdownPreview
from portal.controllers.public import PublicPages
from portal.controllers.security_status import SecurityStatusPages
from portal.controllers.staff import CampaignAdmin, Dashboard
from portal.controllers.staff_api import StaffCampaignApi
from portal.controllers.view import SiteIcons, ViewSwitch

ROUTES = [
    PublicPages,
    CampaignApi,
    BureauApi,
    AuthPages,
    Dashboard,
    MessagePages,
    CampaignAdmin,
    StaffCampaignApi,
    AccountPages,
    AccountSecurityPages,
    BureauPages,
    SiteIdentityPages,
    SiteLogo,
    AuditLogPages,
    SecurityStatusPages,
    MarkdownPreview,
    HealthChecks,
    ViewSwitch,
    SiteIcons,
]
