"""The elements chain (filters.md §5.3) and element filters and CSS selectors on it (§5.4)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...project import Project
from ...query.model import PropertyFilter
from .operators import NEGATIVE_OPERATORS, value_holds
from .world import World


def element_chain(event: dict[str, Any]) -> str:
    """§5.3: ``$elements_chain`` as given (a non-string is no chain), else the ``$elements`` list
    serialised; ``""`` without elements."""
    props = event["properties"]
    if "$elements_chain" in props:
        chain = props["$elements_chain"]
        return chain if isinstance(chain, str) else ""
    if "$elements" in props:
        return serialise_elements(props["$elements"])
    return ""


def escape_quotes(v: Any) -> str:
    return str(v).replace('"', '\\"')


def serialise_elements(elements: Any) -> str:
    """§5.3: each element is its tag, ``.class`` per sorted class (``"`` removed), ``:`` and its
    attributes ``key="value"`` sorted by key (nth-child/nth-of-type always; text, href, attr_id
    when set; every ``attr__*`` as sent)."""
    if not isinstance(elements, list):
        return ""
    out = []
    for el in elements:
        if not isinstance(el, Mapping):
            continue
        classes = el.get("attr__class") or []
        classes = classes.split(" ") if isinstance(classes, str) else [str(c) for c in classes]
        attributes: dict[str, Any] = {"nth-child": el.get("nth_child") or 0, "nth-of-type": el.get("nth_of_type") or 0}
        if el.get("$el_text"):
            attributes["text"] = str(el["$el_text"])[:400]
        if el.get("attr__href"):
            attributes["href"] = str(el["attr__href"])[:2048]
        if el.get("attr__id"):
            attributes["attr_id"] = el["attr__id"]
        attributes.update({k: " ".join(map(str, v)) if isinstance(v, list) else v
                           for k, v in el.items() if k.startswith("attr__")})
        head = str(el.get("tag_name") or "") + "".join("." + c.replace('"', "") for c in sorted(c for c in classes if c))
        body = "".join(f'{escape_quotes(k)}="{escape_quotes(v)}"' for k, v in sorted(attributes.items()))
        out.append(f"{head}:{body}")
    return ";".join(out)


def chain_href(chain: str) -> str:
    """§5.3 ``elements_chain_href``: the first ``href="…"`` of the chain, ``""`` without one."""
    m = re.search(r'(?::|")href="(.*?)"', chain, re.DOTALL)
    return m[1] if m else ""


def chain_texts(chain: str) -> list[str]:
    """§5.3 ``elements_chain_texts``: every ``text="…"`` of the chain."""
    return re.findall(r'(?::|")text="(.*?)"', chain, re.DOTALL)


def chain_elements(chain: str) -> list[tuple[str, set[str], dict[str, str]]]:
    """(tag, classes, attributes) per element of the chain, the clicked element first."""
    out = []
    for text in re.findall(r'(?:[^;"]|"(?:\\.|[^"\\])*")+', chain):
        head, _, attributes = text.partition(":")
        tag, *classes = head.split(".")
        pairs = re.findall(r'([\w\-]+)="((?:\\.|[^"\\])*)"', attributes)
        out.append((tag, set(classes) - {""}, {k: v.replace('\\"', '"') for k, v in pairs}))
    return out


def selector_parts(selector: str) -> list[tuple[bool, dict[str, Any]]]:
    """A CSS selector (tags, ``*``, ``.class``, ``#id``, ``[attr='v']``, ``:nth-child(n)``,
    ``:nth-of-type(n)``; descendant and ``>``) as parts, innermost first, each with whether it
    must be the direct parent of the part before it."""
    tokens = re.findall(r">|(?:\[[^\]]*\]|[^\s>\[])+", selector)
    parts, child = [], False
    for token in tokens:
        if token == ">":
            child = True
            continue
        tag = re.match(r"[A-Za-z*][\w-]*", token)
        need: dict[str, Any] = {"tag": None if tag is None or tag[0] == "*" else tag[0], "classes": set(), "attrs": {}}
        for cls, ident, key, value, nth, n in re.findall(
                r"\.([\w-]+)|#([\w-]+)|\[([\w-]+)=['\"]?([^'\"\]]*)['\"]?\]|:(nth-child|nth-of-type)\((\d+)\)", token):
            if cls:
                need["classes"].add(cls)
            elif ident:
                need["attrs"]["attr_id"] = ident
            elif key:
                plain = key in ("href", "text", "nth-child", "nth-of-type", "attr_id") or key.startswith("attr__")
                need["attrs"]["attr_id" if key == "id" else key if plain else f"attr__{key}"] = value
            else:
                need["attrs"][nth] = n
        parts.append((child, need))
        child = False
    # outermost first as written; reversed, each part's flag says "right outside the previous one"
    flags = [False] + [parts[i + 1][0] for i in range(len(parts) - 1)][::-1]
    return [(f, need) for f, (_, need) in zip(flags, parts[::-1])]


def element_fits(need: dict[str, Any], element: tuple[str, set[str], dict[str, str]]) -> bool:
    tag, classes, attributes = element
    return ((need["tag"] is None or need["tag"] == tag) and need["classes"] <= classes
            and all(attributes.get(k) == v for k, v in need["attrs"].items()))


def selector_matches(selector: str, chain: str) -> bool:
    """§5.4: some element matches the innermost part and the outer parts match elements further
    out (``>``: the very next one)."""
    parts, elements = selector_parts(selector), chain_elements(chain)

    def outward(k: int, at: int) -> bool:
        if k == len(parts):
            return True
        direct, need = parts[k]
        candidates = [at + 1] if direct else range(at + 1, len(elements))
        return any(i < len(elements) and element_fits(need, elements[i]) and outward(k + 1, i) for i in candidates)

    return any(element_fits(parts[0][1], el) and outward(1, i) for i, el in enumerate(elements))


def tag_name_matches(tag: str, chain: str) -> bool:
    """§5.2: the chain regex ``(^|;)<tag>(\\.|$|;|:)``, the tag inserted unescaped."""
    return re.search(rf"(^|;){tag}(\.|$|;|:)", chain, re.DOTALL) is not None


def element_leaf_holds(world: World, project: Project, leaf: PropertyFilter, event: dict[str, Any]) -> bool:
    """§5.4: a list is taken member by member (AND for negative operators, else OR);
    selector/tag_name match (is_not: do not match), ``href`` compares the chain's first href
    (never NULL), ``text`` holds when any element text satisfies the operator."""
    chain = element_chain(event)
    members = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
    results = []
    for m in members:
        if leaf.key in ("selector", "tag_name"):
            hit = selector_matches(str(m), chain) if leaf.key == "selector" else tag_name_matches(str(m), chain)
            results.append(hit if leaf.operator == "exact" else not hit)
        elif leaf.key == "href":
            results.append(value_holds(world, project, leaf.operator, m, "string", chain_href(chain)))
        else:
            results.append(any(value_holds(world, project, leaf.operator, m, "string", t) for t in chain_texts(chain)))
    return all(results) if leaf.operator in NEGATIVE_OPERATORS else any(results)
