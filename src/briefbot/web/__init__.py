"""The web face of briefbot: the editor's review page and the published briefs (`briefbot serve`)."""

from briefbot.web.app import create_app
from briefbot.web.security import check_bind

__all__ = ["check_bind", "create_app"]
