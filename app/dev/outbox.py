"""`followup dev` only: the local outbox, where messages land when no real provider is configured."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape
from litestar import Controller, MediaType, Response, get

from app.messaging.models import Message

_PAGE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Dev outbox</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
header{padding:16px 24px;background:#18181b;color:#fff}main{padding:16px 24px;display:grid;gap:12px}
article{background:#fff;border-radius:10px;padding:14px 18px}.meta{color:#71717a;font-size:13px}
pre{white-space:pre-wrap;font-size:14px}iframe{width:100%;height:420px;border:1px solid #e4e4e7;border-radius:8px}
.tag{display:inline-block;font-size:12px;padding:2px 8px;border-radius:99px;background:#e4e4e7;margin-right:6px}
</style></head><body><header><strong>Dev outbox</strong> · {{ messages|length }} latest messages
(nothing here left this machine)</header><main>
{% for m in messages %}<article><div class="meta"><span class="tag">{{ m.channel }}</span>
<span class="tag">{{ m.status }}</span>#{{ m.id }} · to {{ m.to_address }} · from {{ m.from_address or "" }}
· {{ m.created_at.strftime("%Y-%m-%d %H:%M:%S") }} UTC{% if m.segments %} · {{ m.segments }} segment(s){% endif %}</div>
{% if m.subject %}<h3>{{ m.subject }}</h3>{% endif %}
{% if m.html %}<iframe sandbox srcdoc="{{ m.html }}"></iframe>{% else %}<pre>{{ m.body }}</pre>{% endif %}
</article>{% else %}<p>No messages yet. Abandon a checkout in the demo store to see the sequence.</p>{% endfor %}
</main></body></html>"""
)


class DevOutbox(Controller):
    path = "/dev/outbox"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def outbox(self) -> Response[str]:
        messages = await Message.filter(provider="outbox").order_by("-id").limit(100)
        return Response(_PAGE.render(messages=messages), media_type=MediaType.HTML)
