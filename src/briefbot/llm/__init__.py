"""The LLM client: any OpenAI-compatible endpoint, structured output, one retry owner, a fallback
model per stage, every call logged (`client`); how answers are asked for and found (`output`);
endpoint, models and prices (`settings`); the prompt templates (`prompts`)."""

from briefbot.llm.client import CallResult, CallStats, LLMClient
from briefbot.llm.settings import DEFAULT_PRICES, ENV_VARS, LLMSettings, ModelPrice

__all__ = ["DEFAULT_PRICES", "ENV_VARS", "CallResult", "CallStats", "LLMClient", "LLMSettings", "ModelPrice"]
