"""The organisation tree on the staff pages: an administrator sees the bureaus beneath
their own, adds, renames, retires, restores and deletes them, and imports a file of
them (the same CSV/XLSX as ``portal bureaus import``); auditors read the tree."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import bureaus
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.auth import requires
from portal.errors import Invalid
from portal.tables import Bureau, BureauLevel, Role
from portal.web.forms import files_of

READERS = requires(Role.city_admin, Role.auditor)
ADMIN = requires(Role.city_admin)
# A bureau file is a few thousand rows at most.
IMPORT_MAX_BODY = 2 * 1024 * 1024
FIELDS = ("name", "short_name", "level", "parent", "certificate_pattern")


def _values(form: Any) -> dict[str, str]:
    return {key: str(form.get(key) or "").strip() for key in FIELDS}


def _sibling_places(tree: list[bureaus.Node]) -> dict[int, tuple[bool, bool]]:
    """Each bureau's (may move up, may move down) among its siblings in the tree."""
    siblings: dict[int | None, list[int]] = {}
    for node in tree[1:]:
        siblings.setdefault(node.parent, []).append(node.id)
    return {
        bureau_id: (i > 0, i < len(ids) - 1)
        for ids in siblings.values()
        for i, bureau_id in enumerate(ids)
    }


class BureauPages(Controller):
    path = "/staff/bureaus"
    include_in_schema = False

    @get("/", name="bureau_list", guards=[READERS])
    async def index(self, request: Request) -> Template:
        return await self._list(request.user)

    @get("/new", name="bureau_new", guards=[ADMIN])
    async def new_form(self, request: Request, parent: FromQuery[int | None] = None) -> Template:
        return await self._form(request.user, None, {"parent": str(parent or "")}, {})

    @post("/new", name="bureau_create", guards=[ADMIN])
    async def create(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        user: StaffUser = request.user
        values = _values(await request.form())
        try:
            parent_id = int(values["parent"])
        except ValueError:
            return await self._form(user, None, values, {"parent": "请选择上级单位。"})
        try:
            bureau = await bureaus.add_bureau(
                actor,
                user.bureau_id,
                parent_id,
                values["name"],
                values["short_name"],
                values["level"],
            )
        except Invalid as exc:
            return await self._form(user, None, values, exc.errors or {"name": exc.message})
        flash(request, f"已添加单位「{bureau.name}」。", "success")
        return Redirect(path="/staff/bureaus")

    @get("/{bureau_id:int}/edit", name="bureau_edit", guards=[ADMIN])
    async def edit_form(self, request: Request, bureau_id: FromPath[int]) -> Template:
        node = await bureaus.node_within(request.user.bureau_id, bureau_id)
        bureau = await Bureau.objects().where(Bureau.id == bureau_id).first().run()
        values = {
            "name": node.name,
            "short_name": node.short_name,
            "certificate_pattern": bureau.certificate_pattern,
        }
        return await self._form(request.user, node, values, {})

    @post("/{bureau_id:int}/edit", name="bureau_rename", guards=[ADMIN])
    async def rename(
        self, request: Request, actor: NamedDependency[Actor], bureau_id: FromPath[int]
    ) -> Template | Redirect:
        user: StaffUser = request.user
        node = await bureaus.node_within(user.bureau_id, bureau_id)
        values = _values(await request.form())
        try:
            bureau = await bureaus.rename_bureau(
                actor,
                user.bureau_id,
                bureau_id,
                values["name"],
                values["short_name"],
                values["certificate_pattern"] if node.level.value != "township" else None,
            )
        except Invalid as exc:
            return await self._form(user, node, values, exc.errors or {"name": exc.message})
        flash(request, f"已保存「{bureau.name}」。以前的文件仍显示当时的名称。", "success")
        return Redirect(path="/staff/bureaus")

    @post("/{bureau_id:int}/retire", name="bureau_retire", guards=[ADMIN])
    async def retire(
        self, request: Request, actor: NamedDependency[Actor], bureau_id: FromPath[int]
    ) -> Redirect:
        retire = str((await request.form()).get("retire") or "") == "1"
        try:
            bureau = await bureaus.retire_bureau(actor, request.user.bureau_id, bureau_id, retire)
        except bureaus.BureauRefused as exc:
            flash(request, exc.message, "error")
        else:
            done = "已撤销" if retire else "已恢复"
            flash(request, f"{done}单位「{bureau.name}」。", "success")
        return Redirect(path="/staff/bureaus")

    @post("/{bureau_id:int}/move", name="bureau_move", guards=[ADMIN])
    async def move(
        self, request: Request, actor: NamedDependency[Actor], bureau_id: FromPath[int]
    ) -> Redirect:
        step = -1 if str((await request.form()).get("direction") or "") == "up" else 1
        try:
            await bureaus.move_bureau(actor, request.user.bureau_id, bureau_id, step)
        except bureaus.BureauRefused as exc:
            flash(request, exc.message, "error")
        return Redirect(path=f"/staff/bureaus#bureau-{bureau_id}")

    @post("/{bureau_id:int}/delete", name="bureau_delete", guards=[ADMIN])
    async def delete(
        self, request: Request, actor: NamedDependency[Actor], bureau_id: FromPath[int]
    ) -> Redirect:
        try:
            name = await bureaus.delete_bureau(actor, request.user.bureau_id, bureau_id)
        except bureaus.BureauRefused as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, f"已删除单位「{name}」。", "success")
        return Redirect(path="/staff/bureaus")

    @post("/import", name="bureau_import", guards=[ADMIN], request_max_body_size=IMPORT_MAX_BODY)
    async def import_(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        user: StaffUser = request.user
        uploads = files_of(await request.form(), "file")
        if not uploads:
            problems = [bureaus.RowError(0, "", "请选择要导入的 CSV 或 Excel 文件。")]
            return await self._list(user, problems)
        data = await uploads[0].read(IMPORT_MAX_BODY + 1)
        try:
            done = await bureaus.import_bureaus(actor, data, root_id=user.bureau_id)
        except bureaus.ImportRefused as exc:
            return await self._list(user, exc.problems)
        flash(request, f"已导入：新增 {done.added} 个单位，更新 {done.updated} 个。", "success")
        return Redirect(path="/staff/bureaus")

    @staticmethod
    async def _list(user: StaffUser, problems: list | None = None) -> Template:
        tree = await bureaus.subtree(user.bureau_id)
        return Template(
            "staff/bureaus/list.html",
            context={
                "tree": tree,
                "places": _sibling_places(tree),
                "problems": problems or [],
                "columns": bureaus.COLUMNS,
                "levels": BureauLevel,
            },
            status_code=HTTP_400_BAD_REQUEST if problems else 200,
        )

    @staticmethod
    async def _form(
        user: StaffUser,
        node: bureaus.Node | None,
        values: dict[str, str],
        errors: dict[str, str],
    ) -> Template:
        tree = await bureaus.subtree(user.bureau_id)
        return Template(
            "staff/bureaus/form.html",
            context={
                "node": node,
                "values": values,
                "errors": errors,
                # Where a new bureau may go: an active bureau above the lowest level.
                "parents": [n for n in tree if not n.retired and n.level != BureauLevel.township],
                "levels": [level for level in BureauLevel if level is not BureauLevel.province],
                "default_pattern": bureaus.DEFAULT_CERTIFICATE_PATTERN,
                "abbr": bureaus.abbreviation(Bureau(name=node.name, short_name=node.short_name))
                if node
                else "",
            },
            status_code=HTTP_400_BAD_REQUEST if errors else 200,
        )
