"""PostHog's default channel type rules (GA4-style), for $channel_type and $virt_initial_channel_type.

The rule cascade follows PostHog's channel-type expression (filters.md §9). The lookup tables are
a compact subset of PostHog's channel definitions: the medium table in full, and the common
search, social, video, shopping and email sources. Sources are matched exactly, then by their
first significant subdomain (``https://www.google.com`` → ``google.com``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

PAID_MEDIUMS = ("cpc", "cpm", "cpv", "cpa", "ppc", "retargeting")

# medium → (type if paid, type if organic)
MEDIUMS: dict[str, tuple[str | None, str]] = {
    "affiliate": (None, "Affiliate"), "app": (None, "Referral"), "audio": (None, "Audio"),
    "banner": ("Display", "Display"), "cpm": ("Display", "Display"), "display": ("Display", "Display"),
    "e mail": (None, "Email"), "e-mail": (None, "Email"), "e_mail": (None, "Email"), "email": (None, "Email"),
    "expandable": ("Display", "Display"), "interstitial": ("Display", "Display"), "link": (None, "Referral"),
    "mobile": (None, "Push"), "notification": (None, "Push"), "partnership": (None, "Affiliate"),
    "partnerships": (None, "Affiliate"), "push": (None, "Push"), "referral": (None, "Referral"),
    "sm": ("Paid Social", "Organic Social"), "social": ("Paid Social", "Organic Social"),
    "social media": ("Paid Social", "Organic Social"), "social network": ("Paid Social", "Organic Social"),
    "social-media": ("Paid Social", "Organic Social"), "social-network": ("Paid Social", "Organic Social"),
    "video": ("Paid Video", "Organic Video"),
}  # fmt: skip

_KIND_TYPES = {
    "Search": ("Paid Search", "Organic Search"),
    "Social": ("Paid Social", "Organic Social"),
    "Video": ("Paid Video", "Organic Video"),
    "Shopping": ("Paid Shopping", "Organic Shopping"),
    "Email": (None, "Email"),
}
_SOURCES_BY_KIND = {
    "Search": "google google.com bing bing.com duckduckgo duckduckgo.com yahoo yahoo.com search.yahoo.com baidu "
    "baidu.com yandex yandex.ru yandex.com ecosia ecosia.org ask ask.com aol search.aol.com naver naver.com "
    "seznam seznam.cz qwant qwant.com startpage startpage.com search.brave.com perplexity perplexity.ai "
    "chatgpt.com yahoo.co.jp daum daum.net so.com sogou sogou.com",
    "Social": "facebook facebook.com m.facebook.com l.facebook.com fb fb.com instagram instagram.com "
    "l.instagram.com twitter twitter.com t.co x.com linkedin linkedin.com lnkd.in reddit reddit.com "
    "pinterest pinterest.com tiktok tiktok.com snapchat snapchat.com tumblr tumblr.com quora quora.com "
    "threads.net mastodon.social bsky.app news.ycombinator.com vk.com weibo.com discord.com discord.gg "
    "whatsapp whatsapp.com telegram t.me medium.com",
    "Video": "youtube youtube.com m.youtube.com youtu.be vimeo vimeo.com twitch twitch.tv dailymotion "
    "dailymotion.com bilibili.com",
    "Shopping": "amazon amazon.com amazon.co.uk ebay ebay.com etsy etsy.com shopify shopify.com walmart "
    "walmart.com alibaba alibaba.com aliexpress aliexpress.com",
    "Email": "mail.google.com gmail gmail.com outlook.live.com mail.yahoo.com mail.aol.com",
}
SOURCES: dict[str, tuple[str | None, str]] = {
    name: _KIND_TYPES[kind] for kind, names in _SOURCES_BY_KIND.items() for name in names.split()
}

_SHOP = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
_VIDEO = re.compile(r"^(.*video.*)$")
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "edu", "ac", "ne", "or"}


def first_significant_subdomain(value: str) -> str:
    """ClickHouse cutToFirstSignificantSubdomain: ``https://www.google.co.uk/x`` → ``google.co.uk``."""
    host = urlsplit(value if "//" in value else "//" + value).hostname or ""
    parts = [p for p in host.split(".") if p]
    if len(parts) < 2:
        return ""
    n = 3 if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL else 2
    return ".".join(parts[-n:])


def _lookup(table: dict[str, tuple[str | None, str]], key: str | None, paid: bool, subdomain: bool) -> str | None:
    if key is None:
        key = ""
    hit = table.get(key)
    if hit is None and subdomain:
        hit = table.get(first_significant_subdomain(key))
    if hit is None:
        return None
    return hit[0] if paid else hit[1]


def _clean(v: str | None) -> str | None:
    """nullIf(nullIf(v, ''), 'null'), lower-cased."""
    if v is None or v == "" or v == "null":
        return None
    return v.lower()


def channel_type(
    source: str | None,
    medium: str | None,
    campaign: str | None,
    referring_domain: str | None,
    has_gclid: bool = False,
    has_fbclid: bool = False,
    gad_source: str | None = None,
) -> str:
    """The default channel type of one (entry) attribution tuple."""
    source, medium, campaign = _clean(source), _clean(medium), _clean(campaign)
    gad_source = None if gad_source in (None, "", "null") else gad_source
    if campaign is not None and "cross-network" in campaign:
        return "Cross Network"
    if (medium is not None and (medium in PAID_MEDIUMS or medium.startswith("paid"))) or has_gclid or gad_source is not None:
        return (
            _lookup(SOURCES, source, True, True)
            or ("Paid Shopping" if campaign is not None and _SHOP.match(campaign) else None)
            or _lookup(MEDIUMS, medium, True, False)
            or _lookup(SOURCES, referring_domain, True, True)
            or ("Paid Search" if gad_source == "1" else None)
            or ("Paid Video" if campaign is not None and _VIDEO.match(campaign) else None)
            or ("Paid Social" if has_fbclid else "Paid Unknown")
        )
    if referring_domain == "$direct" and medium is None and source in (None, "(direct)", "direct", "$direct") and not has_fbclid:
        return "Direct"
    found = (
        _lookup(SOURCES, source, False, True)
        or ("Organic Shopping" if campaign is not None and _SHOP.match(campaign) else None)
        or _lookup(MEDIUMS, medium, False, False)
        or _lookup(SOURCES, referring_domain, False, True)
    )
    if found:
        return found
    if campaign is not None and _VIDEO.match(campaign):
        return "Organic Video"
    if medium is not None and medium.endswith("push"):
        return "Push"
    if has_fbclid:
        return "Organic Social"
    if referring_domain == "$direct":
        return "Direct"
    if referring_domain is not None:
        return "Referral"
    return "Unknown"
