"""The page template environment: autoescaped, with every domain's template folder on one loader."""

from __future__ import annotations

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app.web.assets import ROOT, static_url

# Domains add their folder here; app templates come last so a domain can override nothing by accident.
TEMPLATE_DIRS = [ROOT / "inbox" / "templates", ROOT / "app" / "web" / "templates"]


def page_environment() -> Environment:
    loader = ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS if d.exists()])
    env = Environment(
        loader=loader, autoescape=select_autoescape(default=True, default_for_string=True)
    )
    env.globals["product"] = "FollowUp"
    env.globals["static_url"] = static_url  # page assets by content: app.web.assets
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(page_environment()))
