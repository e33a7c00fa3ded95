"""Who may do what: every route the app registers × every role, from one explicit table.

The table below is the access policy written out by hand. ``test_every_route_is_in_the_table``
compares it with the routes the app really registers, so a new route cannot ship without
someone deciding, here, who may use it. Each cell is then requested for real (seeded
campaign, real path values, a valid CSRF token on unsafe requests so that any refusal
comes from the role check) and checked against the table.

Path values that are database ids (nominations, their documents, categories, candidates,
review assignments) differ per run — PostgreSQL sequences do not restart — so a per-test
``Scene`` creates them through the services and resolves each route's path to real rows
in the seeded campaign: a draft of the county clerk's own county (photo and PDF
attached), a submitted nomination, shortlisted candidates, review criteria, a panel
with the reviewer on it, the reviewer's assignments (one open, one scored), and two
votes for a candidate that brushing checks held.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image

from nominations import excel, review, services
from nominations.tables import Assignment, Criterion, Document, Nomination, PanelMember
from portal import media
from portal.accounts import load_staff
from portal.audit import Actor
from portal.db import get_engine
from portal.demo import DEMO_SLUG, ensure_demo_campaign
from portal.tables import (
    AuditEntry,
    Bureau,
    BureauName,
    Campaign,
    Category,
    Phase,
    SiteIdentity,
    Staff,
)
from portal.templating import form_time
from results import services as results
from results.register import today_in
from results.tables import (
    Designation,
    Objection,
    ObjectionAttachment,
    Recheck,
    RecheckEvidence,
    RecheckItem,
    Standing,
    Tally,
)
from stories import publishing as story_publishing
from stories import services as story_services
from stories.tables import Story, StoryCandidate
from tests.factories import actor_for
from tests.helpers import csrf_token, login
from tests.nominations.conftest import UNIT
from tests.portal.test_media import minimal_pdf
from tests.results.conftest import open_notice_now
from tests.results.recheck_scene import role_scene
from voting.ledger import PendingVote, commit
from voting.services import receipt_hash
from voting.tables import Vote

ROLES = ("anonymous", "city_admin", "county_clerk", "reviewer", "auditor")
STAFF_ROLES = ROLES[1:]
CATEGORY_KEY = "judicial-office"
SPARE_BUREAU = "岷县司法局"
COMMITTEES = "mediation-committee"
# Values that are the same in every run; database ids come from the test's Scene.
PATH_VALUES = {
    "slug": DEMO_SLUG,
    "key": CATEGORY_KEY,
    "username": "reviewer",
    "captcha_id": "0123abcd.1700000000.not-signed",
    "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE",
    # The register: a number no designation holds (the check answers 404 for everyone),
    # and a designation id of none (the seeded campaign is not designated).
    "certificate_no": "某司证〔2023〕第001号",
    "number": "某司证〔2023〕第001号",
    "designation_id": "1",
    # A message of nobody signed in here (marking it answers 404 to everyone).
    "message_id": "1",
    # A login lock of none (lifting it answers 404).
    "lock_id": "1",
}

Y, N = True, False

# fmt: off
ACCESS: dict[tuple[str, str], tuple[bool, bool, bool, bool, bool]] = {
    # (method, path as registered)                                        anonymous
    #                                                                     |  city_admin
    #                                                                     |  |  county_clerk
    #                                                                     |  |  |  reviewer
    #                                                                     |  |  |  |  auditor
    ("GET",  "/"):                                                       (Y, Y, Y, Y, Y),
    ("GET",  "/privacy"):                                                (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}"):                                   (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/campaigns"):                                       (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/campaigns/{slug:str}"):                            (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/bureaus"):                                         (Y, Y, Y, Y, Y),
    ("GET",  "/login"):                                                  (Y, Y, Y, Y, Y),
    ("POST", "/login"):                                                  (Y, Y, Y, Y, Y),
    ("POST", "/logout"):                                                 (Y, Y, Y, Y, Y),
    # The second step of a login (after the password): nothing to do without one pending.
    ("GET",  "/login/otp"):                                              (Y, Y, Y, Y, Y),
    ("POST", "/login/otp"):                                              (Y, Y, Y, Y, Y),
    # Each staff member's own account security: password, second factor, idle keep-alive.
    ("GET",  "/staff/session/alive"):                                    (N, Y, Y, Y, Y),
    ("GET",  "/staff/account"):                                          (N, Y, Y, Y, Y),
    ("GET",  "/staff/account/password"):                                 (N, Y, Y, Y, Y),
    ("POST", "/staff/account/password"):                                 (N, Y, Y, Y, Y),
    ("GET",  "/staff/account/otp"):                                      (N, Y, Y, Y, Y),
    ("POST", "/staff/account/otp"):                                      (N, Y, Y, Y, Y),
    ("POST", "/staff/account/otp/recovery"):                             (N, Y, Y, Y, Y),
    ("GET",  "/staff/account/otp/qr.png"):                               (N, Y, Y, Y, Y),
    ("GET",  "/staff"):                                                  (N, Y, Y, Y, Y),
    # Each staff member's own in-site messages (another's message is 404 to them).
    ("GET",  "/staff/messages"):                                         (N, Y, Y, Y, Y),
    ("POST", "/staff/messages/{message_id:int}/read"):                   (N, Y, Y, Y, Y),
    ("POST", "/staff/messages/read-all"):                                (N, Y, Y, Y, Y),
    ("GET",  "/staff/campaigns"):                                        (N, Y, N, N, Y),
    ("GET",  "/staff/campaigns/new"):                                    (N, Y, N, N, N),
    ("POST", "/staff/campaigns/new"):                                    (N, Y, N, N, N),
    ("GET",  "/staff/campaigns/{slug:str}"):                             (N, Y, N, N, Y),
    ("GET",  "/staff/campaigns/{slug:str}/edit"):                        (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/edit"):                        (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/phase"):                       (N, Y, N, N, N),
    ("GET",  "/staff/campaigns/{slug:str}/categories/new"):              (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/new"):              (N, Y, N, N, N),
    ("GET",  "/staff/campaigns/{slug:str}/categories/{key:str}/edit"):   (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/{key:str}/edit"):   (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/{key:str}/delete"): (N, Y, N, N, N),
    # A category's recommendation conditions (nominations app), set by the organiser.
    ("GET",  "/staff/campaigns/{slug:str}/categories/{key:str}/conditions"): (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/{key:str}/conditions"): (N, Y, N, N, N),
    ("POST", "/api/staff/campaigns/{slug:str}/phase"):                   (N, Y, N, N, N),
    ("GET",  "/staff/accounts"):                                         (N, Y, N, N, Y),
    ("GET",  "/staff/accounts/new"):                                     (N, Y, N, N, N),
    ("POST", "/staff/accounts/new"):                                     (N, Y, N, N, N),
    ("POST", "/staff/accounts/{username:str}/active"):                   (N, Y, N, N, N),
    ("POST", "/staff/accounts/{username:str}/otp-reset"):                (N, Y, N, N, N),
    # Login locks: administrators see and lift them, auditors see them.
    ("GET",  "/staff/accounts/locks"):                                   (N, Y, N, N, Y),
    ("POST", "/staff/accounts/locks/{lock_id:int}/lift"):                (N, Y, N, N, N),
    # The organisation tree below the administrator's bureau; auditors read it.
    ("GET",  "/staff/bureaus"):                                          (N, Y, N, N, Y),
    ("GET",  "/staff/bureaus/new"):                                      (N, Y, N, N, N),
    ("POST", "/staff/bureaus/new"):                                      (N, Y, N, N, N),
    ("GET",  "/staff/bureaus/{bureau_id:int}/edit"):                     (N, Y, N, N, N),
    ("POST", "/staff/bureaus/{bureau_id:int}/edit"):                     (N, Y, N, N, N),
    ("POST", "/staff/bureaus/{bureau_id:int}/retire"):                   (N, Y, N, N, N),
    ("POST", "/staff/bureaus/{bureau_id:int}/move"):                     (N, Y, N, N, N),
    ("POST", "/staff/bureaus/{bureau_id:int}/delete"):                   (N, Y, N, N, N),
    ("POST", "/staff/bureaus/import"):                                   (N, Y, N, N, N),
    # The site's identity: set by the top bureau's administrators, its logo public.
    ("GET",  "/staff/identity"):                                         (N, Y, N, N, N),
    ("POST", "/staff/identity"):                                         (N, Y, N, N, N),
    ("GET",  "/site/logo.jpg"):                                          (Y, Y, Y, Y, Y),
    # The visitor's view switches (care mode, text size) and the site's icons: everyone.
    ("GET",  "/view"):                                                   (Y, Y, Y, Y, Y),
    ("GET",  "/favicon.ico"):                                            (Y, Y, Y, Y, Y),
    ("GET",  "/apple-touch-icon.png"):                                   (Y, Y, Y, Y, Y),
    ("GET",  "/icon-192.png"):                                           (Y, Y, Y, Y, Y),
    ("GET",  "/icon-512.png"):                                           (Y, Y, Y, Y, Y),
    ("GET",  "/staff/audit"):                                            (N, Y, N, N, Y),
    ("GET",  "/staff/audit.csv"):                                        (N, Y, N, N, Y),
    # The security controls' state (等保 2.0): those who read the audit log.
    ("GET",  "/staff/security"):                                         (N, Y, N, N, Y),
    # The deeds and story editor's preview: those who write them (renders, stores nothing).
    ("POST", "/staff/markdown/preview"):                                 (N, Y, Y, N, N),
    # Nominations: a clerk drafts and submits for their own county, the city vets, the
    # auditor reads (pages, files, exports) and changes nothing; reviewers see none.
    ("GET",  "/staff/nominations"):                                      (N, Y, Y, N, Y),
    ("GET",  "/staff/nominations/new"):                                  (N, N, Y, N, N),
    ("POST", "/staff/nominations/new"):                                  (N, N, Y, N, N),
    # The form's conditions as typed (a read): whoever edits nominations.
    ("GET",  "/staff/nominations/conditions/check"):                     (N, Y, Y, N, N),
    ("GET",  "/staff/nominations/{nomination_id:int}"):                  (N, Y, Y, N, Y),
    ("GET",  "/staff/nominations/{nomination_id:int}/edit"):             (N, Y, Y, N, N),
    ("POST", "/staff/nominations/{nomination_id:int}/edit"):             (N, Y, Y, N, N),
    ("POST", "/staff/nominations/{nomination_id:int}/submit"):           (N, N, Y, N, N),
    ("POST", "/staff/nominations/{nomination_id:int}/withdraw"):         (N, N, Y, N, N),
    ("POST", "/staff/nominations/{nomination_id:int}/decide"):           (N, Y, N, N, N),
    # A nomination's phone numbers in full, for the organiser's administrator (audited).
    ("POST", "/staff/nominations/{nomination_id:int}/reveal"):           (N, Y, N, N, N),
    ("POST", "/staff/nominations/shortlist"):                            (N, Y, N, N, N),
    # A reviewer reads the files of the candidates assigned to them (others are 404).
    ("GET",  "/staff/nominations/{nomination_id:int}/photo"):            (N, Y, Y, Y, Y),
    ("GET",  "/staff/nominations/{nomination_id:int}/thumbnail"):        (N, Y, Y, Y, Y),
    ("GET",  "/staff/nominations/{nomination_id:int}/documents/{document_id:int}"):
                                                                         (N, Y, Y, Y, Y),
    ("POST", "/staff/nominations/{nomination_id:int}/documents/{document_id:int}/delete"):
                                                                         (N, Y, Y, N, N),
    ("GET",  "/staff/nominations/template/{category_id:int}"):           (N, Y, Y, N, N),
    ("POST", "/staff/nominations/import"):                               (N, N, Y, N, N),
    ("GET",  "/staff/nominations/export.xlsx"):                          (N, Y, Y, N, Y),
    # The recommendation form (推荐审批表): the nominating county, the organiser, auditors;
    # the sealed scan is uploaded by whoever may edit the nomination.
    ("GET",  "/staff/nominations/{nomination_id:int}/recommendation-form"):  (N, Y, Y, N, Y),
    ("GET",  "/staff/nominations/{nomination_id:int}/recommendation-form.docx"):
                                                                         (N, Y, Y, N, Y),
    ("POST", "/staff/nominations/{nomination_id:int}/sealed-form"):      (N, Y, Y, N, N),
    # Shortlisted candidates are public: no contact data, no documents.
    ("GET",  "/api/v1/campaigns/{slug:str}/candidates"):                 (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/candidates"):                        (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/candidates/{candidate_id:int}"):     (Y, Y, Y, Y, Y),
    ("GET",  "/media/candidates/{candidate_id:int}/photo.jpg"):          (Y, Y, Y, Y, Y),
    ("GET",  "/media/candidates/{candidate_id:int}/thumbnail.jpg"):      (Y, Y, Y, Y, Y),
    ("GET",  "/media/candidates/{candidate_id:int}/thumbnail-small.jpg"):  (Y, Y, Y, Y, Y),
    # Expert review: the city admin sets it up and oversees it, the auditor reads the
    # progress and scores, each reviewer scores their own assignments; counties see none.
    ("GET",  "/staff/review"):                                           (N, Y, N, Y, Y),
    ("GET",  "/staff/review/campaigns/{slug:str}"):                      (N, Y, N, N, Y),
    ("POST", "/staff/review/campaigns/{slug:str}/options"):              (N, Y, N, N, N),
    ("POST", "/staff/review/campaigns/{slug:str}/panel"):                (N, Y, N, N, N),
    ("POST", "/staff/review/campaigns/{slug:str}/assign"):               (N, Y, N, N, N),
    ("POST", "/staff/review/campaigns/{slug:str}/assignments"):          (N, Y, N, N, N),
    ("GET",  "/staff/review/campaigns/{slug:str}/criteria/{key:str}"):   (N, Y, N, N, N),
    ("POST", "/staff/review/campaigns/{slug:str}/criteria/{key:str}"):   (N, Y, N, N, N),
    ("GET",  "/staff/review/campaigns/{slug:str}/scores.xlsx"):          (N, Y, N, N, Y),
    ("GET",  "/staff/review/assignments/{assignment_id:int}"):           (N, N, N, Y, N),
    ("POST", "/staff/review/assignments/{assignment_id:int}"):           (N, N, N, Y, N),
    ("POST", "/staff/review/assignments/{assignment_id:int}/conflict"):  (N, N, N, Y, N),
    ("POST", "/staff/review/assignments/{assignment_id:int}/reopen"):    (N, Y, N, N, N),
    ("POST", "/staff/review/assignments/{assignment_id:int}/waive"):     (N, Y, N, N, N),
    ("POST", "/staff/review/assignments/{assignment_id:int}/remove"):    (N, Y, N, N, N),
    # Brushing review: the city admin releases or excludes held votes, the auditor reads.
    ("GET",  "/staff/voting/{slug:str}"):                                (N, Y, N, N, Y),
    ("GET",  "/staff/voting/{slug:str}/candidates/{candidate_id:int}"):  (N, Y, N, N, Y),
    ("POST", "/staff/voting/{slug:str}/candidates/{candidate_id:int}/release"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/voting/{slug:str}/candidates/{candidate_id:int}/exclude"):
                                                                         (N, Y, N, N, N),
    ("GET",  "/campaigns/{slug:str}/method"):                            (Y, Y, Y, Y, Y),
    # Results: the city admin tallies, excludes, publishes the notice and designates; the
    # auditor reads; the ranking is public (API) from the notice on.
    ("GET",  "/staff/results"):                                          (N, Y, N, N, Y),
    ("GET",  "/staff/results/{slug:str}"):                               (N, Y, N, N, Y),
    ("POST", "/staff/results/{slug:str}/tally"):                         (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/candidates/{candidate_id:int}/exclude"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/candidates/{candidate_id:int}/reinstate"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/notice"):                        (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/designate"):                     (N, Y, N, N, N),
    # Objections: the public objects during the notice (CAPTCHA, limits) and looks up its
    # receipt; the city admin handles them, the auditor reads (names, phones, evidence).
    ("GET",  "/campaigns/{slug:str}/notice"):                            (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/notice/object"):                     (Y, Y, Y, Y, Y),
    ("POST", "/campaigns/{slug:str}/notice/object"):                     (Y, Y, Y, Y, Y),
    ("GET",  "/objections"):                                             (Y, Y, Y, Y, Y),
    ("GET",  "/objections/{receipt:str}"):                               (Y, Y, Y, Y, Y),
    ("GET",  "/staff/results/{slug:str}/objections"):                    (N, Y, N, N, Y),
    ("GET",  "/staff/results/{slug:str}/objections/{objection_id:int}/evidence"):
                                                                         (N, Y, N, N, Y),
    # Objections by telephone, letter or visit: the city admin records them (with
    # attachments, read like the online evidence).
    ("GET",  "/staff/results/{slug:str}/objections/new"):                (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/objections/new"):                (N, Y, N, N, N),
    ("GET",  "/staff/results/{slug:str}/objections/{objection_id:int}/files/{file_id:int}"):
                                                                         (N, Y, N, N, Y),
    ("POST", "/staff/results/{slug:str}/objections/{objection_id:int}/investigate"):
                                                                         (N, Y, N, N, N),
    # The objector's phone in full, for the administrator who handles it (audited).
    ("POST", "/staff/results/{slug:str}/objections/{objection_id:int}/reveal"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/objections/{objection_id:int}/uphold"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/results/{slug:str}/objections/{objection_id:int}/dismiss"):
                                                                         (N, Y, N, N, N),
    ("GET",  "/api/v1/campaigns/{slug:str}/results"):                    (Y, Y, Y, Y, Y),
    # The honour list and the printable decision once designated (404 before, for everyone
    # alike); the results workbook from the notice on.
    ("GET",  "/campaigns/{slug:str}/honours"):                           (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/announcement"):                      (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/results.xlsx"):                      (Y, Y, Y, Y, Y),
    # The decision, the name list and the notice as Word files, public like their pages.
    ("GET",  "/campaigns/{slug:str}/announcement.docx"):                 (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/names.docx"):                        (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/notice.docx"):                       (Y, Y, Y, Y, Y),
    # The statistics (数据): public in every phase but draft, each figure as its phase allows.
    ("GET",  "/campaigns/{slug:str}/statistics"):                        (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/statistics.xlsx"):                   (Y, Y, Y, Y, Y),
    ("GET",  "/statistics"):                                             (Y, Y, Y, Y, Y),
    # The register of designations and the certificate check are public; the organiser's
    # admin prints the certificates and the plaque list, the auditor reads them.
    ("GET",  "/api/v1/designations"):                                    (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/certificates/{certificate_no:str}"):               (Y, Y, Y, Y, Y),
    ("GET",  "/register"):                                               (Y, Y, Y, Y, Y),
    ("GET",  "/register.xlsx"):                                          (Y, Y, Y, Y, Y),
    ("GET",  "/certificates"):                                           (Y, Y, Y, Y, Y),
    ("GET",  "/certificates/{number:str}"):                              (Y, Y, Y, Y, Y),
    ("GET",  "/staff/results/{slug:str}/certificates"):                  (N, Y, N, N, Y),
    ("GET",  "/staff/results/{slug:str}/certificates/{designation_id:int}"):
                                                                         (N, Y, N, N, Y),
    ("GET",  "/staff/results/{slug:str}/plaques.xlsx"):                  (N, Y, N, N, Y),
    # Re-checks (复核): the organiser's admin opens one and decides; the clerks of the
    # nominating bureaus report on their own designees (another bureau's are 404); the
    # auditor reads. Revoking and reinstating a designation: the organiser's admin only.
    ("GET",  "/staff/rechecks"):                                         (N, Y, Y, N, Y),
    ("GET",  "/staff/rechecks/new"):                                     (N, Y, N, N, N),
    ("POST", "/staff/rechecks/new"):                                     (N, Y, N, N, N),
    ("GET",  "/staff/rechecks/{recheck_id:int}"):                        (N, Y, Y, N, Y),
    ("GET",  "/staff/rechecks/{recheck_id:int}/items/{item_id:int}"):    (N, Y, Y, N, Y),
    ("POST", "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/report"):
                                                                         (N, N, Y, N, N),
    ("GET",  "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/evidence/{evidence_id:int}"):
                                                                         (N, Y, Y, N, Y),
    ("POST", "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/verdict"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/followup"):
                                                                         (N, Y, N, N, N),
    ("GET",  "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/revoke"):
                                                                         (N, Y, N, N, N),
    ("POST", "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/revoke"):
                                                                         (N, Y, N, N, N),
    ("GET",  "/staff/designations"):                                     (N, Y, N, N, Y),
    ("GET",  "/staff/designations/{designation_id:int}"):                (N, Y, N, N, Y),
    ("GET",  "/staff/designations/{designation_id:int}/revoke"):         (N, Y, N, N, N),
    ("POST", "/staff/designations/{designation_id:int}/revoke"):         (N, Y, N, N, N),
    ("POST", "/staff/designations/{designation_id:int}/reinstate"):      (N, Y, N, N, N),
    ("GET",  "/healthz"):                                                (Y, Y, Y, Y, Y),
    ("GET",  "/healthz/ready"):                                          (Y, Y, Y, Y, Y),
    # Voting: the public API is open to everyone (the CAPTCHA and limits guard it).
    ("POST", "/api/v1/captcha"):                                         (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/captcha/{captcha_id:str}/image.png"):              (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/captcha/{captcha_id:str}/audio.wav"):              (Y, Y, Y, Y, Y),
    ("POST", "/api/v1/campaigns/{slug:str}/votes"):                      (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/receipts/{receipt:str}"):                          (Y, Y, Y, Y, Y),
    # The vote ledger is public once voting has closed (404 before, for everyone alike).
    ("GET",  "/api/v1/campaigns/{slug:str}/ledger.csv"):                 (Y, Y, Y, Y, Y),
    # Voting pages: the vote page, the plain vote form, rules, QR codes and receipts.
    ("GET",  "/campaigns/{slug:str}/vote"):                              (Y, Y, Y, Y, Y),
    # Where the requesting voter stands today (their own cookie's votes only).
    ("GET",  "/campaigns/{slug:str}/vote/standing"):                     (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/rules"):                             (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/candidates/{candidate_id:int}/vote"): (Y, Y, Y, Y, Y),
    ("POST", "/campaigns/{slug:str}/candidates/{candidate_id:int}/vote"): (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}/candidates/{candidate_id:int}/qr.png"):
                                                                         (Y, Y, Y, Y, Y),
    ("GET",  "/receipts"):                                               (Y, Y, Y, Y, Y),
    ("GET",  "/receipts/{receipt:str}"):                                 (Y, Y, Y, Y, Y),
    # Stories: the city writes, edits and publishes any story; a county clerk drafts and
    # submits their own county's (another county's are 404); the auditor reads.
    ("GET",  "/staff/stories"):                                          (N, Y, Y, N, Y),
    ("GET",  "/staff/stories/new"):                                      (N, Y, Y, N, N),
    ("POST", "/staff/stories/new"):                                      (N, Y, Y, N, N),
    ("GET",  "/staff/stories/{story_id:int}"):                           (N, Y, Y, N, Y),
    ("GET",  "/staff/stories/{story_id:int}/edit"):                      (N, Y, Y, N, N),
    ("POST", "/staff/stories/{story_id:int}/edit"):                      (N, Y, Y, N, N),
    ("GET",  "/staff/stories/{story_id:int}/cover.jpg"):                 (N, Y, Y, N, Y),
    ("POST", "/staff/stories/{story_id:int}/submit"):                    (N, N, Y, N, N),
    ("POST", "/staff/stories/{story_id:int}/publish"):                   (N, Y, N, N, N),
    ("POST", "/staff/stories/{story_id:int}/return"):                    (N, Y, N, N, N),
    ("POST", "/staff/stories/{story_id:int}/unpublish"):                 (N, Y, N, N, N),
    # Published stories are public: the list, each page, the Atom feed, the covers.
    ("GET",  "/stories"):                                                (Y, Y, Y, Y, Y),
    ("GET",  "/stories/{story_id:int}"):                                 (Y, Y, Y, Y, Y),
    ("GET",  "/stories/feed.atom"):                                      (Y, Y, Y, Y, Y),
    ("GET",  "/media/stories/{story_id:int}/cover.jpg"):                 (Y, Y, Y, Y, Y),
    ("GET",  "/media/stories/{story_id:int}/thumbnail.jpg"):             (Y, Y, Y, Y, Y),
}
# fmt: on

ROLE_REFUSED = "您的角色无权执行此操作"
STAFF_PREFIXES = ("/staff", "/api/staff/")
UNSAFE_STAFF_ROUTES = [
    (method, path) for method, path in ACCESS if method != "GET" and path.startswith(STAFF_PREFIXES)
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The scene's nomination each route acts on, in a state where the allowed role's request
# takes effect (default: the clerk's complete draft, which the city may edit as well).
# Files are read from the candidate assigned to the reviewer, whom every reader may see.
NOMINATION_OF_ROUTE = {
    "/staff/nominations/{nomination_id:int}/withdraw": "submitted",
    "/staff/nominations/{nomination_id:int}/decide": "submitted",
    "/staff/nominations/{nomination_id:int}/photo": "candidate",
    "/staff/nominations/{nomination_id:int}/thumbnail": "candidate",
    "/staff/nominations/{nomination_id:int}/documents/{document_id:int}": "candidate",
}
# Likewise the assignment: the reviewer's open one, or for reopening the scored one.
ASSIGNMENT_OF_ROUTE = {"/staff/review/assignments/{assignment_id:int}/reopen": "scored"}
# The scene's story each route acts on (default: the county clerk's draft, with a cover).
STORY_OF_ROUTE = {
    "/staff/stories/{story_id:int}/publish": "submitted",
    "/staff/stories/{story_id:int}/return": "submitted",
    "/staff/stories/{story_id:int}/unpublish": "published",
    "/stories/{story_id:int}": "published",
    "/media/stories/{story_id:int}/cover.jpg": "published",
    "/media/stories/{story_id:int}/thumbnail.jpg": "published",
}
CRITERIA = [("工作实绩", "60"), ("群众评价", "40")]
RECHECK_REPORT = {
    key: value
    for key, value in (
        ("disputes_mediated", "80"), ("disputes_resolved", "78"), ("judicial_confirmations", "5"),
        ("on_the_spot", "20"), ("entrusted_court", "2"), ("entrusted_police", "2"),
        ("entrusted_government", "2"), ("entrusted_petition", "1"), ("entrusted_other", "1"),
    )
}  # fmt: skip
CRITERION_ID = 1  # scores are summed whatever their keys: any id will do for a total
# Query strings a page needs to show real content rather than a "choose …" error.
QUERIES = {
    ("GET", "/staff/nominations"): "campaign={slug}",
    ("GET", "/staff/nominations/new"): "category={category_id}",
    ("GET", "/staff/nominations/conditions/check"): "category={category_id}",
    ("GET", "/staff/nominations/export.xlsx"): "campaign={slug}",
}


def registered_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every handler the app serves, bar static files and the API docs."""
    found = set()
    for route in app.routes:
        if route.path == "/static" or route.path.startswith(("/static/", "/schema")):
            continue
        for handler in route.route_handlers:
            # Litestar answers OPTIONS on every path by itself (an empty 204 with Allow).
            if handler.fn.__qualname__.startswith("HTTPRoute.create_options_handler"):
                continue
            for method in handler.http_methods:
                found.add((method, route.path))
    return found


def allowed(method: str, path: str, role: str) -> bool:
    return ACCESS[(method, path)][ROLES.index(role)]


def is_nomination_route(path: str) -> bool:
    return (
        "nomination" in path
        or "candidate" in path
        or is_review_route(path)
        or is_objection_route(path)
    )


def is_objection_route(path: str) -> bool:
    """Staff objection routes: they act on the scene's objection to its candidate."""
    return path.startswith("/staff/results/") and "/objections" in path


def is_story_route(path: str) -> bool:
    return path.startswith(("/stories", "/staff/stories", "/media/stories"))


def is_recheck_route(path: str) -> bool:
    return path.startswith(("/staff/rechecks", "/staff/designations"))


# The re-check scene's item and designation each route acts on (default: the reported
# item with its evidence, an active designation).
RECHECK_ITEM_OF_ROUTE = {"report": "fresh", "followup": "rectify", "revoke": "revocable"}


def recheck_values(path: str, ids: dict[str, int]) -> dict[str, str]:
    if not is_recheck_route(path):
        return {}
    last = path.rsplit("/", 1)[-1]
    designation = "revoked" if last == "reinstate" else "active"
    return {
        "recheck_id": str(ids["recheck"]),
        "item_id": str(ids["item_" + RECHECK_ITEM_OF_ROUTE.get(last, "reported")]),
        "evidence_id": str(ids["evidence"]),
        "designation_id": str(ids["designation_" + designation]),
    }


def is_review_route(path: str) -> bool:
    return path.startswith("/staff/review") or path.endswith("/method")


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def filled_template(category: Category, names: list[str]) -> bytes:
    """The category's import template with one row per name (everything else empty)."""
    wb = load_workbook(io.BytesIO(excel.template_workbook(category.kind, category.title)))
    ws = wb[excel.SHEET]
    column = next(c.column for c in ws[excel.HEADER_ROW] if str(c.value).rstrip("*") == "名称")
    for offset, name in enumerate(names):
        ws.cell(excel.EXAMPLE_ROW + 1 + offset, column, name)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def open_for_nominations() -> None:
    """The seeded campaign in its nomination window (where the city also vets)."""
    now = dt.datetime.now(dt.UTC)
    await (
        Campaign.update(
            {
                Campaign.phase: Phase.nominating.value,
                Campaign.nominating_opens_at: now - dt.timedelta(days=1),
                Campaign.nominating_closes_at: now + dt.timedelta(days=10),
            }
        )
        .where(Campaign.slug == DEMO_SLUG)
        .run()
    )


async def open_for_review() -> None:
    """The seeded campaign in its expert review window (scoring open)."""
    now = dt.datetime.now(dt.UTC)
    await (
        Campaign.update(
            {
                Campaign.phase: Phase.reviewing.value,
                Campaign.reviewing_opens_at: now - dt.timedelta(days=1),
                Campaign.reviewing_closes_at: now + dt.timedelta(days=10),
            }
        )
        .where(Campaign.slug == DEMO_SLUG)
        .run()
    )


async def demo_campaign() -> Campaign:
    return await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()


@contextlib.asynccontextmanager
async def campaign_kept() -> AsyncIterator[None]:
    """Restore the seeded campaign's phase and windows after setting up data in others."""
    columns = (
        Campaign.phase,
        Campaign.nominating_opens_at,
        Campaign.nominating_closes_at,
        Campaign.reviewing_opens_at,
        Campaign.reviewing_closes_at,
    )
    campaign = await demo_campaign()
    kept = {column: getattr(campaign, column._meta.name) for column in columns}
    try:
        yield
    finally:
        await Campaign.update(kept).where(Campaign.id == campaign.id).run()


async def set_phase(phase: Phase) -> None:
    await Campaign.update({Campaign.phase: phase.value}).where(Campaign.slug == DEMO_SLUG).run()


async def tallied(path: str) -> None:
    """The seeded campaign tallied (held votes decided, every candidate scored), in the
    state where the results route ``path`` takes effect."""
    campaign = await demo_campaign()
    held = (Vote.campaign == campaign.id) & (Vote.status == "held")
    await Vote.update({Vote.status: "excluded"}).where(held).run()
    reviewer = await Staff.objects().where(Staff.username == "reviewer").first().run()
    now = dt.datetime.now(dt.UTC)
    shortlisted = await Nomination.select(Nomination.id).where(
        (Nomination.campaign == campaign.id) & (Nomination.status == "shortlisted")
    )
    for row in shortlisted:
        mine = Assignment.nomination == row["id"]
        if not await Assignment.exists().where(mine):
            await Assignment(nomination=row["id"], reviewer=reviewer.id).save().run()
        scored = {
            Assignment.scores: json.dumps({str(CRITERION_ID): "80"}),
            Assignment.submitted_at: now,
        }
        await Assignment.update(scored).where(mine & Assignment.submitted_at.is_null()).run()
    await set_phase(Phase.tallying)
    actor = Actor.command_line()
    await results.tally(actor, DEMO_SLUG)
    if path.endswith("/reinstate"):
        for row in await Standing.select(Standing.candidate).where(Standing.excluded_reason == ""):
            await results.exclude(actor, campaign, row["candidate"], "材料失实")
    if path.endswith("/designate"):
        # One working day opened three weeks ago: over by now, whatever the weekday.
        await results.open_notice(actor, DEMO_SLUG, 1, now=now - dt.timedelta(days=21))


async def objection_pending(path: str) -> None:
    """The seeded campaign in its public notice, the scene's objection not yet handled."""
    await tallied(path)
    await open_notice_now(Actor.command_line(), DEMO_SLUG, 7)
    await Objection.update(
        {
            Objection.status: "received",
            Objection.resolution: "",
            Objection.handled_by: None,
            Objection.handled_at: None,
        },
        force=True,
    ).run()


async def effective_state(path: str) -> None:
    """Put the seeded campaign where the allowed role's request on ``path`` takes effect:
    in preparation for campaign changes, in its nomination window for nominations and
    review criteria, in its review window for the rest of the expert review."""
    if is_objection_route(path):
        await objection_pending(path)
    elif path.endswith("/otp-reset"):
        # The account has something of a second factor to reset (recovery codes only: with
        # a secret the refused roles' own login would ask for a code).
        await (
            Staff.update({Staff.otp_recovery: ["0" * 64]})
            .where(Staff.username == PATH_VALUES["username"])
            .run()
        )
    elif path.startswith("/staff/results/"):
        await tallied(path)
    elif is_review_route(path) and "/criteria/" not in path:
        await open_for_review()
    elif is_nomination_route(path):
        await open_for_nominations()
    else:
        await set_phase(Phase.draft)


@dataclass
class Scene:
    """Nominations in the seeded campaign, made through the services, and the real path
    values that point at them. Built on first use (in the campaign's current state)."""

    staff: dict[str, str]
    directory: Path
    ids: dict[str, int] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    assignments: dict[str, int] = field(default_factory=dict)
    criteria: list[int] = field(default_factory=list)
    objection: int = 0
    attachment: int = 0
    stories: dict[str, int] = field(default_factory=dict)
    # A county bureau with no account or record of its own (renamed, retired, deleted).
    bureau: int = 0
    # The re-check scene's ids (tests/results/recheck_scene.py: role_scene).
    rechecks: dict[str, int] = field(default_factory=dict)

    async def build(self, review_too: bool = True) -> None:
        """The nominations (and the reviewer's open assignment); with ``review_too`` also
        the rest of the expert review; and the stories. Each part once."""
        nominations, rest = not self.ids, review_too and "scored" not in self.ids
        if nominations or rest:
            async with campaign_kept():
                if nominations:
                    await self._build_nominations()
                if rest:
                    await self._build_review()
        await self.build_stories()

    async def _build_nominations(self) -> None:
        await open_for_nominations()
        campaign = await demo_campaign()
        rows = await Category.objects().where(Category.campaign == campaign.id).run()
        self.categories = {c.key: c for c in rows}
        clerk, admin = await self._user("county_clerk"), await self._user("city_admin")
        reviewer = await self._user("reviewer")
        draft = await self._nominate(clerk, CATEGORY_KEY, "安定区草稿司法所")
        submitted = await self._submitted(clerk, CATEGORY_KEY, "安定区已报送司法所")
        candidate = await self._shortlisted(clerk, admin, "安定区入围调委会")
        await self._held_votes(candidate)
        # The reviewer on the panel, assigned to the candidate (so may read its files).
        await review.set_panel(actor_for(admin), await demo_campaign(), [reviewer.id])
        open_assignment = await self._assign(admin, candidate, reviewer)
        self.ids = {
            "draft": draft.id,
            "submitted": submitted.id,
            "candidate": candidate.id,
            "reviewer": reviewer.id,
        }
        self.assignments = {"open": open_assignment}
        for key, nomination_id in self.ids.items():
            if key != "reviewer":
                self.documents[key] = (await services.documents_of(nomination_id))[0].id
        self.objection = await self._objection(candidate)

    async def _build_review(self) -> None:
        """Criteria of the candidates' category, a candidate nobody is assigned to yet,
        and one the reviewer has scored (submitted, so locked)."""
        await open_for_nominations()
        clerk, admin = await self._user("county_clerk"), await self._user("city_admin")
        reviewer = await self._user("reviewer")
        rows = [{"title": t, "guidance": "", "max_points": p} for t, p in CRITERIA]
        await review.save_criteria(
            actor_for(admin), await demo_campaign(), self.categories[COMMITTEES], rows
        )
        self.criteria = [c.id for c in await review.criteria_of(self.categories[COMMITTEES].id)]
        unassigned = await self._shortlisted(clerk, admin, "安定区待分配调委会")
        scored = await self._shortlisted(clerk, admin, "安定区已评分调委会")
        self.assignments["scored"] = await self._assign(admin, scored, reviewer)
        await open_for_review()
        assignment, _, campaign, category = await review.load_assignment(
            reviewer, self.assignments["scored"]
        )
        await review.save_scores(
            actor_for(reviewer),
            reviewer,
            assignment,
            campaign,
            category,
            self.score_form(),
            "",
            True,
        )
        self.ids.update(unassigned=unassigned.id, scored=scored.id)

    async def _submitted(self, clerk, category_key: str, name: str) -> Nomination:  # type: ignore[no-untyped-def]
        nomination = await self._nominate(clerk, category_key, name)
        return await services.submit(
            actor_for(clerk), clerk, await services.load(clerk, nomination.id)
        )

    async def _shortlisted(self, clerk, admin, name: str) -> Nomination:  # type: ignore[no-untyped-def]
        nomination = await self._submitted(clerk, COMMITTEES, name)
        return await services.decide(
            actor_for(admin), await services.load(admin, nomination.id), "shortlist"
        )

    async def _assign(self, admin, nomination: Nomination, reviewer) -> int:  # type: ignore[no-untyped-def]
        await review.add_assignment(
            actor_for(admin), await demo_campaign(), nomination.id, reviewer.id
        )
        found = (
            await Assignment.objects()
            .where((Assignment.nomination == nomination.id) & (Assignment.reviewer == reviewer.id))
            .first()
            .run()
        )
        return found.id

    async def _held_votes(self, candidate: Nomination) -> None:
        """Two votes for the candidate that a brushing rule held (for brushing review)."""
        now = dt.datetime.now(dt.UTC)
        await commit(
            [
                PendingVote(
                    campaign_id=(await demo_campaign()).id,
                    category_id=self.categories[COMMITTEES].id,
                    candidate_id=candidate.id,
                    cast_at=now.isoformat(timespec="milliseconds"),
                    cast_ts=now,
                    day=now.date().isoformat(),
                    voter_hash=f"{i:064x}",
                    receipt=f"ROLE-{i}",
                    receipt_hash=receipt_hash(f"ROLE-{i}"),
                    status="held",
                    network="203.0.113.7",
                    flags="network_burst",
                )
                for i in (1, 2)
            ]
        )

    async def _objection(self, candidate: Nomination) -> int:
        """An objection to the candidate, with a PDF as evidence (for the staff routes)."""
        objection = Objection(
            campaign=(await demo_campaign()).id,
            candidate=candidate.id,
            receipt="YY-ROLE-TEST-2345",
            real_name="王建国",
            phone="13919001234",
            relation="同村村民",
            content="申报材料中的调解数量与实际不符。",
            evidence=media.save_pdf(minimal_pdf(), self.directory),
            evidence_name="证据.pdf",
        )
        await objection.save().run()
        attachment = ObjectionAttachment(
            objection=objection.id,
            stored_name=media.save_pdf(minimal_pdf(), self.directory),
            filename="来信扫描件.pdf",
        )
        await attachment.save().run()
        self.attachment = attachment.id
        return objection.id

    def score_form(self) -> dict[str, str]:
        """The reviewer's complete scores (just under full marks) as the form sends them."""
        return {
            f"c{cid}": str(int(p) - 5) for cid, (_, p) in zip(self.criteria, CRITERIA, strict=True)
        }

    async def _user(self, role: str):  # type: ignore[no-untyped-def]
        row = await Staff.objects().where(Staff.username == self.staff[role]).first().run()
        return await load_staff(row.id)

    async def _nominate(self, clerk, category_key: str, name: str) -> Nomination:  # type: ignore[no-untyped-def]
        files = services.Files(
            photo=media.save_photo(photo_bytes(), self.directory),
            documents=[(media.save_pdf(minimal_pdf(), self.directory), "推荐表.pdf", 400)],
        )
        return await services.create_draft(
            actor_for(clerk),
            clerk,
            self.categories[category_key],
            {**UNIT, "name": name},
            files,
        )

    def values(self, path: str) -> dict[str, str]:
        values = dict(PATH_VALUES)
        if self.ids:
            nomination = NOMINATION_OF_ROUTE.get(path, "draft")
            values.update(
                nomination_id=str(self.ids[nomination]),
                document_id=str(self.documents[nomination]),
                assignment_id=str(self.assignments.get(ASSIGNMENT_OF_ROUTE.get(path, "open"))),
                candidate_id=str(self.ids["candidate"]),
                objection_id=str(self.objection),
                file_id=str(self.attachment),
                category_id=str(self.categories[CATEGORY_KEY].id),
            )
        if self.stories:
            values["story_id"] = str(self.stories[STORY_OF_ROUTE.get(path, "draft")])
        if self.bureau:
            values["bureau_id"] = str(self.bureau)
        if self.rechecks:
            values.update(recheck_values(path, self.rechecks))
        return values

    async def build_stories(self) -> None:
        """The county clerk's draft, a submitted and a published story, each with a cover."""
        if self.stories:
            return
        clerk, admin = await self._user("county_clerk"), await self._user("city_admin")
        for key in ("draft", "submitted", "published"):
            story = await story_services.create(
                actor_for(clerk),
                clerk,
                {"kind": "case", "title": f"安定区{key}稿件", "body": "调解经过。\n\n调解结果。"},
                media.save_photo(photo_bytes(), self.directory),
            )
            if key != "draft":
                await story_publishing.submit(actor_for(clerk), clerk, story)
            if key == "published":
                await story_publishing.publish(actor_for(admin), admin, story)
            self.stories[key] = story.id
        self.stories["bureau"] = clerk.bureau_id

    async def build_rechecks(self) -> None:
        """The re-check scene (a published campaign, its re-check), once."""
        if not self.rechecks:
            self.rechecks = await role_scene(self.directory)

    async def concrete(self, method: str, path: str) -> str:
        """The registered path with real values for its parameters (and its query)."""
        if is_nomination_route(path):
            await self.build(review_too=is_review_route(path))
        if is_story_route(path):
            await self.build_stories()
        if is_recheck_route(path):
            await self.build_rechecks()
        if "{bureau_id" in path and not self.bureau:
            self.bureau = await bureau_id(SPARE_BUREAU)
        values = self.values(path)

        def value(match: re.Match) -> str:
            name = match.group(1)
            assert name in values, f"no test value for path parameter {name!r} in {path}"
            return values[name]

        url = re.sub(r"\{(\w+)(?::\w+)?\}", value, path)
        query = QUERIES.get((method, path))
        return f"{url}?{query.format(**values)}" if query else url


async def bureau_id(name: str) -> int:
    row = await Bureau.select(Bureau.id).where(Bureau.name == name).first().run()
    return row["id"]


async def campaign_form(title: str) -> dict[str, str]:
    """The seeded campaign's edit form as the page fills it, with a new title."""
    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    form = {
        "slug": campaign.slug,
        "title": title,
        "year": str(campaign.year),
        "description": campaign.description,
        "timezone": campaign.timezone,
        "notice_days": str(campaign.notice_days),
    }
    for name in (
        "nominating_opens_at",
        "nominating_closes_at",
        "reviewing_opens_at",
        "reviewing_closes_at",
        "voting_opens_at",
        "voting_closes_at",
    ):
        form[name] = form_time(getattr(campaign, name), campaign.timezone)
    return form


async def next_phase() -> str:
    from portal.phases import next_phase as following

    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    return str(following(campaign.phase))


async def payload(method: str, path: str, scene: Scene) -> tuple[dict, dict | None]:
    """A request body (form fields, uploaded files) that would change something if the
    role check let it through."""
    category = {
        "title": "“枫桥式”司法所（修订）",
        "kind": "judicial_office",
        "quota": "9",
        "county_cap": "2",
        "votes_per_day": "3",
    }
    forms = {
        "/login": {"username": "", "password": ""},
        "/staff/campaigns/new": {
            "slug": "dingxi-2024",
            "title": "2024年度定西市评选",
            "year": "2024",
            "timezone": "Asia/Shanghai",
            "notice_days": "7",
        },
        "/staff/campaigns/{slug:str}/edit": await campaign_form("被改过的活动名称"),
        "/staff/campaigns/{slug:str}/phase": {"phase": await next_phase()},
        "/staff/campaigns/{slug:str}/categories/new": {**category, "key": "new-category"},
        "/staff/campaigns/{slug:str}/categories/{key:str}/edit": {**category, "key": CATEGORY_KEY},
        "/api/staff/campaigns/{slug:str}/phase": {"phase": await next_phase()},
        "/staff/accounts/new": {
            "username": "new-clerk",
            "display_name": "新经办人",
            "role": "county_clerk",
            "bureau": "漳县司法局",
            "password": "A-new-password",
            "password2": "A-new-password",
        },
        "/staff/accounts/{username:str}/active": {"active": "0"},
        "/staff/bureaus/new": {
            "parent": str(await bureau_id("定西市司法局")),
            "name": "新设区司法局",
            "short_name": "新设区",
            "level": "county",
        },
        "/staff/bureaus/{bureau_id:int}/edit": {"name": "岷县司法局（更名）", "short_name": "岷县"},
        "/staff/bureaus/{bureau_id:int}/retire": {"retire": "1"},
        "/staff/bureaus/{bureau_id:int}/move": {"direction": "up"},
        "/staff/identity": {"site_name": "调解评选", "icp": "陇ICP备12345678号-1"},
        "/staff/voting/{slug:str}/candidates/{candidate_id:int}/release": {"reason": "核实无误"},
        "/staff/voting/{slug:str}/candidates/{candidate_id:int}/exclude": {"reason": "集中投票"},
        "/staff/results/{slug:str}/candidates/{candidate_id:int}/exclude": {"reason": "材料失实"},
        "/staff/results/{slug:str}/candidates/{candidate_id:int}/reinstate": {"reason": "复核属实"},
        "/staff/results/{slug:str}/notice": {"days": "7"},
        "/staff/campaigns/{slug:str}/categories/{key:str}/conditions": {
            "rows": "1",
            "field-1": "declaration",
            "wording-1": "本年度未发生因调解不当引发的群体性事件",
        },
        "/staff/results/{slug:str}/designate": {"document_no": "定司发〔2023〕12号"},
        "/staff/results/{slug:str}/objections/{objection_id:int}/uphold": {
            "resolution": "经核查，反映的问题属实。"
        },
        "/staff/results/{slug:str}/objections/{objection_id:int}/dismiss": {
            "resolution": "经核查，反映的问题不属实。"
        },
        "/staff/rechecks/new": {
            "year": str(today_in().year),
            "deadline": (today_in() + dt.timedelta(days=30)).isoformat(),
        },
        "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/report": {
            **RECHECK_REPORT,
            "statement": "全年工作正常开展，无民转刑案件。",
        },
        "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/verdict": {"verdict": "passed"},
        "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/followup": {
            "note": "已补齐全部卷宗，经核查整改到位。"
        },
        "/staff/rechecks/{recheck_id:int}/items/{item_id:int}/revoke": {
            "reason": "经复核，该所已不符合命名条件。"
        },
        "/staff/designations/{designation_id:int}/revoke": {
            "reason": "经查实，该所存在严重违纪问题。"
        },
        "/staff/designations/{designation_id:int}/reinstate": {
            "reason": "经复议，撤销依据的事实不成立。"
        },
    }
    if scene.ids:
        category_id = str(scene.categories[CATEGORY_KEY].id)
        forms.update(
            {
                "/staff/nominations/new": {
                    **UNIT,
                    "name": "安定区新建司法所",
                    "category": category_id,
                    "action": "save",
                },
                "/staff/nominations/{nomination_id:int}/edit": {
                    **UNIT,
                    "name": "安定区改过名称的司法所",
                    "category": category_id,
                    "action": "save",
                },
                "/staff/nominations/{nomination_id:int}/withdraw": {"reason": "材料有误，撤回"},
                "/staff/results/{slug:str}/objections/new": {
                    "channel": "phone",
                    "received_on": dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat(),
                    "candidate": str(scene.ids["candidate"]),
                    "real_name": "李来电",
                    "phone": "0932-8212345",
                    "content": "来电反映该单位申报的调解数量与台账不符。",
                },
                "/staff/nominations/{nomination_id:int}/decide": {"decision": "shortlist"},
                "/staff/nominations/shortlist": {
                    "campaign": DEMO_SLUG,
                    "ids": [str(scene.ids["submitted"])],
                },
                "/staff/nominations/import": {"category": category_id},
            }
        )
    if "scored" in scene.ids:
        forms.update(
            {
                "/staff/review/campaigns/{slug:str}/options": {
                    "reviewers_per_candidate": "2",
                    "standardise": "1",
                },
                # An empty panel: the reviewer leaves it, with their unscored assignment.
                "/staff/review/campaigns/{slug:str}/panel": {"reviewers": []},
                "/staff/review/campaigns/{slug:str}/assignments": {
                    "nomination": str(scene.ids["unassigned"]),
                    "reviewer": str(scene.ids["reviewer"]),
                },
                "/staff/review/campaigns/{slug:str}/criteria/{key:str}": {
                    "title-0": "典型案例",
                    "max_points-0": "70",
                    "title-1": "群众满意度",
                    "max_points-1": "30",
                },
                "/staff/review/assignments/{assignment_id:int}": {
                    **scene.score_form(),
                    "comment": "事迹突出，数据翔实。",
                    "action": "submit",
                },
                "/staff/review/assignments/{assignment_id:int}/conflict": {
                    "conflict_reason": "曾在该单位工作",
                },
                "/staff/review/assignments/{assignment_id:int}/reopen": {"reason": "分数录入有误"},
                "/staff/review/assignments/{assignment_id:int}/waive": {"reason": "专家因病缺席"},
            }
        )
    if scene.stories:
        story = {
            "kind": "deeds",
            "body": "调解经过。\n\n调解结果。",
            "bureau": str(scene.stories["bureau"]),
            "action": "save",
        }
        forms.update(
            {
                "/staff/stories/new": {**story, "title": "新写的稿件"},
                "/staff/stories/{story_id:int}/edit": {**story, "title": "改过标题的稿件"},
                "/staff/stories/{story_id:int}/return": {"reason": "请补充调解协议的履行情况"},
                "/staff/stories/{story_id:int}/unpublish": {
                    "unpublish_reason": "当事人要求隐去信息"
                },
            }
        )
    if path == "/staff/nominations/{nomination_id:int}/sealed-form":
        return {}, {"sealed_form": ("盖章推荐审批表.pdf", minimal_pdf(), "application/pdf")}
    if path == "/staff/bureaus/import":
        tree = "name,short_name,level,parent\n新设区司法局,新设区,county,定西市司法局\n"
        return {}, {"file": ("单位.csv", tree.encode(), "text/csv")}
    if path == "/staff/nominations/import" and scene.ids:
        workbook = filled_template(scene.categories[CATEGORY_KEY], ["安定区导入的司法所"])
        return forms[path], {"file": ("推荐对象.xlsx", workbook, XLSX)}
    return forms.get(path, {}), None


async def request(client, scene: Scene, method: str, path: str):  # type: ignore[no-untyped-def]
    """Send the cell's request; unsafe ones carry a valid CSRF token (form field or header)."""
    url = await scene.concrete(method, path)
    if method == "GET":
        return await client.get(url)
    token = await csrf_token(client)
    body, files = await payload(method, path, scene)
    if path.startswith("/api/"):
        return await client.request(method, url, json=body, headers={"x-csrftoken": token})
    return await client.request(method, url, data={"_csrf_token": token, **body}, files=files)


async def snapshot(directory: Path | None = None) -> dict[str, list]:
    """Everything a staff request could change: campaigns, categories, the audit log,
    accounts, nominations and their documents, the expert review (criteria, panel,
    assignments and scores), the recorded votes, and the stored files."""
    # One read transaction: one connection for all the queries (a new one each would
    # make this the costliest step of the matrix), and one consistent view.
    async with get_engine().transaction():
        return {
            # Page views are flushed into Campaign.visits in the background: not a change
            # anyone made, so they are left out.
            "campaigns": await Campaign.select(
                *(c for c in Campaign.all_columns() if c._meta.name != "visits")
            )
            .order_by(Campaign.id)
            .run(),
            "categories": await Category.select().order_by(Category.id).run(),
            "audit": await AuditEntry.select().order_by(AuditEntry.id).run(),
            "staff": await Staff.select(Staff.username, Staff.active, Staff.otp_recovery)
            .order_by(Staff.id)
            .run(),
            "bureaus": await Bureau.select().order_by(Bureau.id).run(),
            "bureau_names": await BureauName.select().order_by(BureauName.id).run(),
            "site_identity": await SiteIdentity.select().run(),
            "nominations": await Nomination.select().order_by(Nomination.id).run(),
            "documents": await Document.select().order_by(Document.id).run(),
            "criteria": await Criterion.select().order_by(Criterion.id).run(),
            "panel": await PanelMember.select().order_by(PanelMember.id).run(),
            "assignments": await Assignment.select().order_by(Assignment.id).run(),
            "votes": await Vote.select().order_by(Vote.id).run(),
            "tallies": await Tally.select().order_by(Tally.id).run(),
            "standings": await Standing.select().order_by(Standing.id).run(),
            "objections": await Objection.select().order_by(Objection.id).run(),
            # Story views are flushed like the campaigns' (left out for the same reason).
            "stories": await Story.select(
                *(c for c in Story.all_columns() if c._meta.name != "visits")
            )
            .order_by(Story.id)
            .run(),
            "story_candidates": await StoryCandidate.select().order_by(StoryCandidate.id).run(),
            "designations": await Designation.select().order_by(Designation.id).run(),
            "rechecks": await Recheck.select().order_by(Recheck.id).run(),
            "recheck_items": await RecheckItem.select().order_by(RecheckItem.id).run(),
            "recheck_evidence": await RecheckEvidence.select().order_by(RecheckEvidence.id).run(),
            "files": stored_files(directory),
        }


def stored_files(directory: Path | None) -> list[str]:
    """The upload folder's contents, temporary files included."""
    if directory is None or not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir())


def changed_data(before: dict, after: dict) -> list[str]:
    """What changed besides the audit log."""
    return [key for key in before if key != "audit" and before[key] != after[key]]


def assert_refused_to_anonymous(response, url: str) -> None:  # type: ignore[no-untyped-def]
    if url.startswith("/api/"):
        assert response.status_code == 401, response.text[:300]
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == {"error", "message"}
        assert body["error"] == "unauthorized"
        assert "登录" in body["message"]
    else:
        assert response.status_code in (302, 303), response.text[:300]
        target = urlsplit(response.headers["location"])
        assert target.path == "/login"
        assert parse_qs(target.query)["next"] == [url]


def assert_refused_to_role(response, url: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text[:300]
    if url.startswith("/api/"):
        body = response.json()
        assert body["error"] == "forbidden"
        assert ROLE_REFUSED in body["message"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert ROLE_REFUSED in response.text
    assert "Traceback" not in response.text


@pytest.fixture
async def campaign(staff: dict[str, str]) -> Campaign:
    return await ensure_demo_campaign()


@pytest.fixture
async def draft_campaign(campaign: Campaign) -> Campaign:
    """The seeded campaign back in preparation, where every staff change is possible.

    (In its seeded voting phase, categories can no longer be added or deleted.)
    """
    await (
        Campaign.update({Campaign.phase: Phase.draft.value}).where(Campaign.id == campaign.id).run()
    )
    return campaign


@pytest.fixture
def upload_folder(settings) -> Path:  # type: ignore[no-untyped-def]
    return media.upload_dir(settings.var_dir)


@pytest.fixture
def scene(staff: dict[str, str], upload_folder: Path) -> Scene:
    return Scene(staff, upload_folder)


async def sign_in(client, staff: dict[str, str], role: str) -> None:  # type: ignore[no-untyped-def]
    if role != "anonymous":
        await login(client, staff[role])


# --- the table matches the app ---------------------------------------------------------


async def test_every_route_is_in_the_table(app) -> None:
    registered = registered_routes(app)
    missing = registered - ACCESS.keys()
    assert not missing, f"routes without an access decision in ACCESS: {sorted(missing)}"
    stale = ACCESS.keys() - registered
    assert not stale, f"ACCESS lists routes the app does not serve: {sorted(stale)}"


async def test_the_route_enumeration_sees_new_routes(app) -> None:
    """The completeness check above is only as good as the enumeration: prove it notices."""
    from litestar import get, post

    @get("/staff/reports", sync_to_thread=False)
    def reports() -> str:
        return "reports"

    @post("/api/staff/reports", sync_to_thread=False)
    def make_report() -> str:
        return "made"

    app.register(reports)
    app.register(make_report)
    missing = registered_routes(app) - ACCESS.keys()
    assert missing == {("GET", "/staff/reports"), ("POST", "/api/staff/reports")}


def test_staff_routes_are_closed_to_anonymous_in_the_table() -> None:
    for (method, path), row in ACCESS.items():
        if path.startswith(STAFF_PREFIXES):
            assert row[0] is N, f"{method} {path} is a staff route open to the public"


# --- every cell -------------------------------------------------------------------------


# Safe requests first: an allowed unsafe request may change what later cells see.
ORDERED_ROUTES = sorted(ACCESS, key=lambda route: route[0] != "GET")


@pytest.mark.parametrize("role", ROLES)
async def test_access_matrix(client, staff, campaign, scene, upload_folder, role: str) -> None:
    """Every route for one role (one database per role keeps the matrix fast)."""
    await sign_in(client, staff, role)
    for method, path in ORDERED_ROUTES:
        if method != "GET":
            # An earlier unsafe cell may have ended the session (logout) or changed it.
            client.cookies.clear()
            await sign_in(client, staff, role)
        await check_cell(client, scene, upload_folder, method, path, role)


async def check_cell(client, scene, upload_folder, method: str, path: str, role: str) -> None:  # type: ignore[no-untyped-def]
    url = await scene.concrete(method, path)
    before = await snapshot(upload_folder)
    response = await request(client, scene, method, path)
    if allowed(method, path, role):
        assert response.status_code not in (401, 403), (method, url, role, response.text[:300])
        assert response.status_code < 500, response.text[:300]
        if role == "anonymous" and response.is_redirect:
            assert not response.headers["location"].startswith("/login?")
        if method == "GET" and (is_nomination_route(path) or is_story_route(path)):
            # The path values are real: the page, file or export is there for this role.
            assert response.status_code == 200, (url, role, response.text[:300])
        return
    if role == "anonymous":
        assert_refused_to_anonymous(response, url)
    else:
        assert_refused_to_role(response, url)
    assert await snapshot(upload_folder) == before, f"refused {method} {url} as {role} changed data"


# --- the unsafe requests above are real changes -------------------------------------------

ADMIN_ROUTES = [(m, p) for m, p in UNSAFE_STAFF_ROUTES if allowed(m, p, "city_admin")]
CLERK_ROUTES = [(m, p) for m, p in UNSAFE_STAFF_ROUTES if allowed(m, p, "county_clerk")]
REVIEWER_ROUTES = [(m, p) for m, p in UNSAFE_STAFF_ROUTES if allowed(m, p, "reviewer")]
REFUSED_CELLS = [
    (m, p, role) for m, p in UNSAFE_STAFF_ROUTES for role in STAFF_ROLES if not allowed(m, p, role)
]


# Marking one's own messages read is no change of record (not audited, per user): its
# effect and its scope are tested in tests/portal/test_messages.py.
SHOWN_ELSEWHERE = {
    ("POST", "/staff/messages/{message_id:int}/read"),
    ("POST", "/staff/messages/read-all"),
    # One's own password and second factor need the current password or a code of the
    # app, and a lock to lift needs failed logins: each is shown to take effect (audited)
    # in tests/portal/test_login_security.py (here their empty bodies change nothing).
    ("POST", "/staff/account/password"),
    ("POST", "/staff/account/otp"),
    ("POST", "/staff/account/otp/recovery"),
    ("POST", "/staff/accounts/locks/{lock_id:int}/lift"),
    # Revealing an objector's phone changes no record but the audit log: shown (masked
    # before, in full once after, audited) in tests/results/test_objections.py.
    ("POST", "/staff/results/{slug:str}/objections/{objection_id:int}/reveal"),
    # ... and a nomination's: in tests/nominations/test_pages.py.
    ("POST", "/staff/nominations/{nomination_id:int}/reveal"),
}


# The editor's preview renders the text it is sent and stores nothing: what it answers
# is tested in tests/portal/test_preview.py.
CHANGES_NOTHING = {("POST", "/staff/markdown/preview")}


async def assert_takes_effect(client, staff, scene, folder, role, method, path) -> None:  # type: ignore[no-untyped-def]
    if (method, path) in CHANGES_NOTHING:
        pytest.skip("stores nothing: tests/portal/test_preview.py")
    if (method, path) in SHOWN_ELSEWHERE:
        pytest.skip(
            "shown in test_messages.py, test_login_security.py, test_objections.py or "
            "tests/nominations/test_pages.py"
        )
    await login(client, staff[role])
    await scene.concrete(method, path)  # the nominations exist before the snapshot
    await effective_state(path)
    before = await snapshot(folder)
    response = await request(client, scene, method, path)
    assert response.status_code in (200, 302, 303), response.text[:300]
    after = await snapshot(folder)
    assert changed_data(before, after), f"{method} {path} changed nothing for {role}"
    assert len(after["audit"]) == len(before["audit"]) + 1  # and the change is in the audit log


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_city_admin_requests_take_effect(
    client, staff, campaign, scene, upload_folder, method: str, path: str
) -> None:
    """The bodies the refused roles send are not no-ops: for a city admin they change data."""
    await assert_takes_effect(client, staff, scene, upload_folder, "city_admin", method, path)


@pytest.mark.parametrize(("method", "path"), CLERK_ROUTES)
async def test_county_clerk_requests_take_effect(
    client, staff, campaign, scene, upload_folder, method: str, path: str
) -> None:
    """Likewise for the routes a county clerk may use, on their own county's nominations
    (several of them — creating, submitting, withdrawing, importing — the city may not)."""
    await assert_takes_effect(client, staff, scene, upload_folder, "county_clerk", method, path)


@pytest.mark.parametrize(("method", "path"), REVIEWER_ROUTES)
async def test_reviewer_requests_take_effect(
    client, staff, campaign, scene, upload_folder, method: str, path: str
) -> None:
    """And for the reviewer's own assignment: scoring, declaring a conflict."""
    await assert_takes_effect(client, staff, scene, upload_folder, "reviewer", method, path)


def test_every_unsafe_staff_route_is_shown_to_take_effect() -> None:
    shown = set(ADMIN_ROUTES) | set(CLERK_ROUTES) | set(REVIEWER_ROUTES)
    assert shown == set(UNSAFE_STAFF_ROUTES)


REFUSED_ROUTES = sorted({(m, p) for m, p, _ in REFUSED_CELLS})


@pytest.mark.parametrize(("method", "path"), REFUSED_ROUTES)
async def test_other_roles_change_nothing(
    client, staff, campaign, scene, upload_folder, method: str, path: str
) -> None:
    """In the state where the allowed role's request takes effect, theirs is refused."""
    for m, p, role in REFUSED_CELLS:
        if (m, p) != (method, path):
            continue
        client.cookies.clear()
        await login(client, staff[role])
        url = await scene.concrete(method, path)
        await effective_state(path)
        before = await snapshot(upload_folder)
        response = await request(client, scene, method, path)
        assert_refused_to_role(response, url)
        assert await snapshot(upload_folder) == before, (method, url, role)


# --- the cases people ask about ---------------------------------------------------------


async def test_county_clerk_cannot_edit_a_campaign(client, staff, campaign) -> None:
    await login(client, staff["county_clerk"])
    page = await client.get(f"/staff/campaigns/{DEMO_SLUG}/edit")
    assert_refused_to_role(page, f"/staff/campaigns/{DEMO_SLUG}/edit")
    form = await campaign_form("县区改的名称")
    response = await client.post(
        f"/staff/campaigns/{DEMO_SLUG}/edit",
        data={"_csrf_token": await csrf_token(client), **form},
    )
    assert_refused_to_role(response, f"/staff/campaigns/{DEMO_SLUG}/edit")
    stored = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    assert stored.title == campaign.title
    assert stored.updated_at == campaign.updated_at
    response = await client.post(
        f"/api/staff/campaigns/{DEMO_SLUG}/phase",
        json={"phase": "tallying"},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert_refused_to_role(response, f"/api/staff/campaigns/{DEMO_SLUG}/phase")
    stored = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    assert stored.phase == Phase.voting.value
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).run()]
    assert actions == ["staff.login"]


async def test_reviewer_cannot_read_the_audit_log(client, staff, campaign) -> None:
    await login(client, staff["city_admin"])
    await client.post("/logout", data={"_csrf_token": await csrf_token(client)})
    await login(client, staff["reviewer"])
    response = await client.get("/staff/audit")
    assert_refused_to_role(response, "/staff/audit")
    assert "操作日志" not in response.text
    assert staff["city_admin"] not in response.text
    response = await client.get("/staff/audit?actor=admin&page=1")
    assert response.status_code == 403


async def test_auditor_reads_campaigns_and_the_audit_log(client, staff, campaign) -> None:
    await login(client, staff["auditor"])
    listing = await client.get("/staff/campaigns")
    assert listing.status_code == 200
    assert campaign.title in listing.text
    detail = await client.get(f"/staff/campaigns/{DEMO_SLUG}")
    assert detail.status_code == 200
    assert "“枫桥式”司法所" in detail.text
    log = await client.get("/staff/audit")
    assert log.status_code == 200
    assert "操作日志" in log.text
    assert "staff.login" in log.text and staff["auditor"] in log.text


async def test_auditor_every_post_is_refused(
    client, app, staff, draft_campaign, scene, upload_folder
) -> None:
    await login(client, staff["auditor"])
    posts = sorted(
        (method, path)
        for method, path in registered_routes(app)
        # Marking their own messages read is no change of record (SHOWN_ELSEWHERE).
        if method == "POST"
        and path.startswith(STAFF_PREFIXES)
        and (method, path) not in SHOWN_ELSEWHERE
    )
    assert len(posts) >= 16
    await scene.build()
    await scene.build_rechecks()
    await open_for_nominations()  # where the nomination posts would take effect
    before = await snapshot(upload_folder)
    for method, path in posts:
        response = await request(client, scene, method, path)
        assert_refused_to_role(response, await scene.concrete(method, path))
    assert await snapshot(upload_folder) == before
    # Still signed in: the refusals did not end the session.
    assert (await client.get("/staff/audit")).status_code == 200


async def test_public_cannot_reach_any_staff_page(
    client, app, staff, campaign, scene, upload_folder
) -> None:
    staff_routes = sorted(
        (method, path) for method, path in registered_routes(app) if path.startswith(STAFF_PREFIXES)
    )
    assert ("GET", "/staff") in staff_routes and ("GET", "/staff/audit") in staff_routes
    assert ("GET", "/staff/nominations/{nomination_id:int}/photo") in staff_routes
    await scene.build()
    await scene.build_rechecks()
    before = await snapshot(upload_folder)
    for method, path in staff_routes:
        response = await request(client, scene, method, path)
        assert_refused_to_anonymous(response, await scene.concrete(method, path))
        assert campaign.title not in response.text
        assert "安定区草稿司法所" not in response.text
    assert await snapshot(upload_folder) == before


async def test_auditor_reads_nominations_and_exports_but_is_offered_no_change(
    client, staff, campaign, scene
) -> None:
    await scene.build(review_too=False)
    await open_for_nominations()  # where the city could vet and the county submit
    await login(client, staff["auditor"])
    listing = await client.get(f"/staff/nominations?campaign={DEMO_SLUG}")
    assert listing.status_code == 200
    assert "安定区已报送司法所" in listing.text and "安定区草稿司法所" in listing.text
    assert 'name="ids"' not in listing.text and "新建推荐" not in listing.text
    detail = await client.get(f"/staff/nominations/{scene.ids['submitted']}")
    assert detail.status_code == 200 and "安定区已报送司法所" in detail.text
    for action in ("/decide", "/edit", "/submit", "/withdraw"):
        assert action not in detail.text
    export = await client.get(f"/staff/nominations/export.xlsx?campaign={DEMO_SLUG}")
    assert export.status_code == 200
    names = [
        row[3]
        for ws in load_workbook(io.BytesIO(export.content)).worksheets
        for row in ws.iter_rows(min_row=2, values_only=True)
    ]
    assert sorted(names) == sorted(["安定区草稿司法所", "安定区已报送司法所", "安定区入围调委会"])


FILE_ROUTES = {
    "/staff/nominations/{nomination_id:int}/photo",
    "/staff/nominations/{nomination_id:int}/thumbnail",
    "/staff/nominations/{nomination_id:int}/documents/{document_id:int}",
}


async def test_reviewer_is_refused_every_nomination_page(
    client, app, staff, campaign, scene
) -> None:
    await login(client, staff["reviewer"])
    pages = sorted(
        path
        for method, path in registered_routes(app)
        if method == "GET" and path.startswith("/staff/nominations") and path not in FILE_ROUTES
    )
    assert len(pages) == 9  # with the form's conditions check and the recommendation form
    for path in pages:
        url = await scene.concrete("GET", path)
        response = await client.get(url)
        assert_refused_to_role(response, url)
        assert "安定区" not in response.text


async def test_reviewer_reads_files_only_of_their_assigned_candidates(
    client, staff, campaign, scene
) -> None:
    """Past the role check, a reviewer's files are those of their open assignments: any
    other nomination (a county's draft, or one they declared a conflict on) is 404."""
    await scene.build(review_too=False)
    await login(client, staff["reviewer"])
    for key, expected in (("candidate", 200), ("draft", 404), ("submitted", 404)):
        nomination, document = scene.ids[key], scene.documents[key]
        for url in (
            f"/staff/nominations/{nomination}/photo",
            f"/staff/nominations/{nomination}/thumbnail",
            f"/staff/nominations/{nomination}/documents/{document}",
        ):
            response = await client.get(url)
            assert response.status_code == expected, url
    detail = await client.get(f"/staff/nominations/{scene.ids['candidate']}")
    assert_refused_to_role(detail, f"/staff/nominations/{scene.ids['candidate']}")
    await (
        Assignment.update({Assignment.status: "conflict"})
        .where(Assignment.id == scene.assignments["open"])
        .run()
    )
    response = await client.get(f"/staff/nominations/{scene.ids['candidate']}/photo")
    assert response.status_code == 404
