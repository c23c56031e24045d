"""Azure OpenAI's data plane: where a call goes and how it is signed, for `ApiClient`.

The request and answer bodies are OpenAI's (the `openai` SDK's `AzureOpenAI` client sends the same
JSON); two things differ, and `ApiClient` asks this module about both at one place:

- the URL: `{endpoint}/openai/{path}?api-version=V` when the Provider names an `api_version`, else
  the version-less `{endpoint}/openai/v1/{path}` (the client's base URL is `{endpoint}/openai`,
  which is also the account the state records, whichever path is used);
- chat completions go through a deployment (`chat_call`): `/openai/deployments/{name}/chat/completions`,
  or `model` = the deployment's name on the v1 path;
- the credential: the resource key in an `api-key` header, or a Microsoft Entra ID token as
  `Authorization: Bearer` (scope `ENTRA_SCOPE`), asked of a token provider before every request.
  The provider (azure-identity's, built by the CLI) caches the token and gets a new one before it
  expires; the token lives in this process's memory only, and is registered with
  `reconciler.secrets` so that no output can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.errors import ConfigError
from reconciler.secrets import redact, register_secret

__all__ = ["ENTRA_SCOPE", "AzureDataPlane", "azure_base_url"]

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


def azure_base_url(endpoint: str) -> str:
    """The client's base URL for a resource endpoint: `https://NAME.openai.azure.com/openai`."""
    return endpoint.rstrip("/") + "/openai"


@dataclass(frozen=True)
class AzureDataPlane:
    """How one Azure Provider's calls are addressed and signed."""

    api_version: str | None = None
    token: Callable[[], str] | None = None   # Entra ID: a bearer-token provider; None: the api-key

    @property
    def entra(self) -> bool:
        return self.token is not None

    def chat_call(self, deployment: str, body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(path, body) of a chat completion through `deployment`: `deployments/{name}/chat/completions`
        on the api-version path (the body's `model` dropped: the deployment names it), `chat/completions`
        with `model` = the deployment's name on the version-less v1 path."""
        if not deployment:
            raise ConfigError("a chat completion on Azure goes through a deployment: none was named")
        if self.api_version:
            return f"/deployments/{quote(deployment, safe='')}/chat/completions", {
                k: v for k, v in body.items() if k != "model"}
        return "/chat/completions", {**body, "model": deployment}

    def sign(self, key: str | None, relative: str, params: Mapping[str, Any] | None,
             operation: str) -> tuple[dict[str, str], str, dict[str, Any]]:
        """(credential headers, relative URL, query parameters) of one call to `relative` (a path
        under the API's root, `fine_tuning/jobs`)."""
        query = dict(params or {})
        if self.api_version:
            query["api-version"] = self.api_version
        else:
            relative = "v1/" + relative
        if self.token is not None:
            try:
                token = self.token()
            except Exception as exc:  # azure-identity's errors name the credentials it tried
                raise ConfigError(f"Microsoft Entra ID gave no token (auth: entra, needed to {operation}): "
                                  f"{type(exc).__name__}: {_first_line(exc)}") from None
            register_secret(token)
            return {"Authorization": f"Bearer {token}"}, relative, query
        if not key:
            raise ConfigError(f"no Azure OpenAI key (api_key_env) to {operation}")
        return {"api-key": key}, relative, query


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0]) if text else "no detail"
