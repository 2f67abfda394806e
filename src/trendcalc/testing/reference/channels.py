"""PostHog's default channel rules (filters.md §9 ``$channel_type``) over a small excerpt of its
channel definitions, and the virtual person properties built on them (filters.md §2, §4
``$virt_*``)."""

from __future__ import annotations

import re
from typing import Any

from .values import render_text
from .world import World

VIRTUAL_PERSON_PROPERTIES = ("$virt_initial_channel_type", "$virt_initial_referring_domain_type")


def virtual_person_property(world: World, key: str, person: Any) -> str | None:
    """§2: ``$virt_*`` person fields: the channel type of the person's ``$initial_*`` attribution,
    and the kind of its initial referring domain (``$direct`` stays ``$direct``)."""
    props = world.person_properties.get(person, {})

    def text(k: str) -> str | None:  # toString(properties.k): R, NULL when absent
        v = props.get(k)
        return None if v is None else render_text(v)

    referrer = text("$initial_referring_domain")
    if key == "$virt_initial_referring_domain_type":
        if referrer is None:
            return None
        return "$direct" if referrer == "$direct" else source_kind(referrer)
    return channel_type(text("$initial_utm_source"), text("$initial_utm_medium"), text("$initial_utm_campaign"),
                        referrer, null_if_empty(text("$initial_gclid")) is not None,
                        null_if_empty(text("$initial_fbclid")) is not None, null_if_empty(text("$initial_gad_source")))


# §9: PostHog's default channel rules over a small excerpt of its channel definitions (the
# strategies only generate sources and mediums listed here, or ones that are in no list).
SOURCE_KINDS = {
    "google": "Search", "google.com": "Search", "bing.com": "Search", "duckduckgo.com": "Search",
    "facebook": "Social", "facebook.com": "Social", "t.co": "Social", "youtube.com": "Video",
    "amazon.com": "Shopping", "gmail.com": "Email",
}  # fmt: skip
KIND_TYPES = {"Search": ("Paid Search", "Organic Search"), "Social": ("Paid Social", "Organic Social"),
              "Video": ("Paid Video", "Organic Video"), "Shopping": ("Paid Shopping", "Organic Shopping"),
              "Email": (None, "Email")}  # fmt: skip
MEDIUM_TYPES = {"email": (None, "Email"), "social": ("Paid Social", "Organic Social"), "referral": (None, "Referral"),
                "cpm": ("Display", "Display"), "push": (None, "Push"), "affiliate": (None, "Affiliate"),
                "video": ("Paid Video", "Organic Video")}  # fmt: skip
SECOND_LEVEL = ("co", "com", "org", "net", "ac")


def null_if_empty(v: str | None) -> str | None:
    return None if v in (None, "", "null") else v


def first_significant_subdomain(value: str) -> str:
    """cutToFirstSignificantSubdomain: ``https://www.google.co.uk/x`` → ``google.co.uk``."""
    host = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", value).split("/")[0].split("?")[0].split(":")[0]
    parts = [p for p in host.split(".") if p]
    if len(parts) < 2:
        return ""
    keep = 3 if len(parts) >= 3 and parts[-2] in SECOND_LEVEL else 2
    return ".".join(parts[-keep:])


def source_kind(value: str | None) -> str | None:
    """A source (or referring domain) looked up as written, then by its first significant subdomain."""
    value = value or ""
    return SOURCE_KINDS.get(value) or SOURCE_KINDS.get(first_significant_subdomain(value))


def source_type(value: str | None, paid: bool) -> str | None:
    kind = source_kind(value)
    return None if kind is None else KIND_TYPES[kind][0 if paid else 1]


def channel_type(source: str | None, medium: str | None, campaign: str | None, referring_domain: str | None,
                 has_gclid: bool, has_fbclid: bool, gad_source: str | None) -> str:
    """§9 ``$channel_type``: PostHog's default rule cascade (utm values lower-cased, '' and
    'null' are NULL; the referring domain as given)."""
    source, medium, campaign = (None if v is None else null_if_empty(v) and v.lower() for v in (source, medium, campaign))
    shop = campaign is not None and re.fullmatch(r"(.*(([^a-df-z]|^)shop|shopping).*)", campaign, re.DOTALL)
    video = campaign is not None and re.fullmatch(r"(.*video.*)", campaign, re.DOTALL)
    if campaign is not None and "cross-network" in campaign:
        return "Cross Network"
    if (medium is not None and (medium in ("cpc", "cpm", "cpv", "cpa", "ppc", "retargeting") or medium.startswith("paid"))
            or has_gclid or gad_source is not None):
        return (source_type(source, True) or ("Paid Shopping" if shop else None)
                or MEDIUM_TYPES.get(medium or "", (None, None))[0] or source_type(referring_domain, True)
                or ("Paid Search" if gad_source == "1" else "Paid Video" if video else
                    "Paid Social" if has_fbclid else "Paid Unknown"))
    if (referring_domain == "$direct" and medium is None and source in (None, "(direct)", "direct", "$direct")
            and not has_fbclid):
        return "Direct"
    found = (source_type(source, False) or ("Organic Shopping" if shop else None)
             or MEDIUM_TYPES.get(medium or "", (None, None))[1] or source_type(referring_domain, False))
    if found:
        return found
    if video:
        return "Organic Video"
    if medium is not None and medium.endswith("push"):
        return "Push"
    if has_fbclid:
        return "Organic Social"
    if referring_domain == "$direct":
        return "Direct"
    return "Referral" if referring_domain is not None else "Unknown"
