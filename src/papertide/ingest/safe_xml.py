"""Parsing XML from the outside world without letting it hurt us.

Feeds are parsed with defusedxml: entity declarations (the "billion laughs" bomb) and external
entities or DTDs are refused instead of expanded or fetched. Broken or truncated documents become
a ``SourceError`` that says where the parser stopped.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from papertide.ingest.base import SourceError


def parse_xml(data: bytes, name: str) -> Element:
    """The root element of ``data``; ``SourceError`` for hostile, broken or truncated XML."""
    if not data.strip():
        raise SourceError(f"{name}: the XML document is empty")
    try:
        return fromstring(data)
    except EntitiesForbidden:
        raise SourceError(f"{name}: the XML declares entities (possible entity-expansion bomb); refused") from None
    except (ExternalReferenceForbidden, DTDForbidden):
        raise SourceError(f"{name}: the XML has a DTD or refers to external entities; refused") from None
    except (LookupError, ValueError) as error:  # the XML declaration names an encoding expat cannot use
        raise SourceError(f"{name}: the XML cannot be read in the encoding it declares ({error})") from None
    except ParseError as error:
        line, column = error.position
        problem = str(error).split(":")[0]
        if problem in ("no element found", "unclosed token"):
            reason = f"the XML ends early at line {line}, column {column} (truncated?)"
        else:
            reason = f"the XML is malformed at line {line}, column {column}: {problem}"
        raise SourceError(f"{name}: {reason}") from None


def local_name(element: Element) -> str:
    """The tag without its ``{namespace}``."""
    return element.tag.rpartition("}")[2]


def text_of(element: Element | None) -> str | None:
    """All text inside ``element`` (None when absent), as the feed wrote it."""
    if element is None:
        return None
    return "".join(element.itertext())
