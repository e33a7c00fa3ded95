"""The security page (安全控制状态) for auditors and administrators: each control of 等保 2.0
that the portal has, and its state in this deployment, read from the settings, the audit
log and the last backup, so the bureau can answer an assessor from the portal itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar import Controller, Request, get
from litestar.response import Template

from portal import audit, backup, otp
from portal.auth import requires
from portal.tables import AuditEntry, Role


@dataclass(frozen=True)
class Control:
    name: str
    state: str
    detail: str
    ok: bool = True


async def _oldest_entry() -> dt.datetime | None:
    row = await AuditEntry.select(AuditEntry.at).order_by(AuditEntry.at).first().run()
    return row["at"] if row else None


class SecurityStatusPages(Controller):
    include_in_schema = False
    guards = [requires(Role.city_admin, Role.auditor)]

    @get("/staff/security", name="security_status")
    async def index(self, request: Request) -> Template:
        settings = request.app.state.settings
        # Checked now, on every visit: the state shown is the state of the log as it is.
        chain = await audit.verify_chain()
        last = backup.last_backup(settings)
        admins_need = otp.required(settings, Role.city_admin)
        clerks_need = otp.required(settings, Role.county_clerk)
        if clerks_need:
            second = "全部工作人员账号必须使用"
        elif admins_need:
            second = "管理员和审计员必须使用；其他账号可自行开启"
        else:
            second = "未强制（非生产环境）；各账号可自行开启"
        controls = [
            Control(
                "二次验证（TOTP 动态口令）",
                second,
                "PORTAL_ENV=production 时管理员和审计员必须使用；"
                "PORTAL_OTP_ALL_STAFF 可扩展到全部账号。重置二次验证记入审计日志。",
                ok=admins_need,
            ),
            Control(
                "口令策略",
                f"至少 10 位、三类字符、不含用户名、不在常见口令表中；"
                f"超过 {settings.password_max_age_days} 天须更换",
                "管理员或命令行创建的账号首次登录须修改口令。",
            ),
            Control(
                "登录失败处理",
                f"同一账号失败 5 次后要求验证码，失败的网络对该账号锁定 "
                f"{settings.login_lock_minutes} 分钟",
                "管理员可查看并解除锁定（记入审计日志）；账号本人下次登录时可见。",
            ),
            Control(
                "会话",
                f"闲置 {settings.session_idle_minutes} 分钟结束，最长 "
                f"{settings.session_max_hours} 小时；每个账号仅保留一个会话",
                "退出登录在服务器端结束会话。",
            ),
            Control(
                "审计日志防篡改（哈希链）",
                "完整" if chain.ok else f"在条目 id {chain.bad_id} 处断开：{chain.reason}",
                f"本次打开页面时校验，共 {chain.entries} 条；也可运行 portal verify-audit。"
                + (f"链尾哈希 {chain.head}" if chain.ok else ""),
                ok=chain.ok,
            ),
            Control(
                "审计日志保存期限",
                f"至少 {audit.MIN_RETENTION_DAYS} 天",
                "门户内不能修改或删除日志；只有命令 portal purge-audit 可清理超过保存期限的条目，"
                "清理本身记入日志。",
            ),
            Control(
                "数据备份",
                f"最近一次备份：{last['at']}（{last['file']}）" if last else "本机没有备份记录",
                "portal backup 生成含数据库、上传文件和校验清单的备份；"
                "portal restore 只恢复到空库。恢复演练见 README。",
                ok=last is not None,
            ),
        ]
        return Template(
            "staff/security.html",
            context={"controls": controls, "oldest": await _oldest_entry(), "chain": chain},
        )
