"""The optional answer model: `ChatOpenAI` on any OpenAI-compatible server.

Set `CONCIERGE_LLM_MODEL` (and `OPENAI_BASE_URL` for vLLM, Ollama, llama.cpp or another
server; `OPENAI_API_KEY` where the server wants one). Unset, nothing here is imported and
answers are written offline from the knowledge base.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from agents.model_answer import ModelAnswerWriter, circuit_breaker
from core.config import Settings
from core.tracing.masking import mask_pii

log = logging.getLogger("concierge.llm")


class ModelConfigError(ValueError):
    """The model settings cannot work (said in one line at start)."""


def model_writer(settings: Settings,
                 on_breaker_change: Callable[[str], None] | None = None) -> ModelAnswerWriter | None:
    """The answer model's writer, or None when no model is configured."""
    if not settings.llm_model:
        return None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if not key and not settings.openai_base_url:
        raise ModelConfigError(
            "CONCIERGE_LLM_MODEL is set but neither OPENAI_API_KEY nor OPENAI_BASE_URL is: "
            "set the key for OpenAI, or the base URL of your own server")
    from langchain_openai import ChatOpenAI

    chat_model = ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        api_key=key or "unused",  # local servers usually want none, the client wants one
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
        streaming=True,
        stream_usage=True,
    )

    def breaker_changed(state: str) -> None:
        log.warning("answer model circuit breaker %s", state)
        if on_breaker_change is not None:
            on_breaker_change(state)

    return ModelAnswerWriter(
        chat_model,
        model_name=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        breaker=circuit_breaker(settings.llm_breaker_failures, settings.llm_breaker_reset_s,
                                breaker_changed),
        redact=mask_pii,
    )
