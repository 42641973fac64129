"""The one home of "which Babel locale writes the active language".

Pages (`receivables.templatetags.money`) and letters (`dunning.templatetags.letter_format`)
both write amounts and dates with Babel, in the locale of a language of
`settings.LANGUAGES`. The mapping lives here, in the ledger, so both apps can import it
(`dunning` may import `receivables`, never the reverse).
"""

from __future__ import annotations

from django.utils import translation

# The Babel locale each interface and letter language is written in.
LOCALES = {"en": "en_GB", "es": "es_ES", "zh-hans": "zh_Hans_CN"}


def supported_language(code: str | None) -> str:
    """One of our languages for any language code: Spanish for any Spanish, Simplified
    Chinese for any Chinese, English otherwise (`"es-MX"` -> `"es"`)."""
    code = (code or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-hans"
    if code.startswith("es"):
        return "es"
    return "en"


def babel_locale(language: str | None = None) -> str:
    """`"es"` -> `"es_ES"`; without a language, the active one's; English for any other."""
    return LOCALES[supported_language(language or translation.get_language() or "en")]
