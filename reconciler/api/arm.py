"""The Azure Resource Manager (control plane) client for Cognitive Services account deployments.

    {management_url}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/
        accounts/{account}/deployments/{name}?api-version=2025-06-01

GET / list / PUT (createOrUpdate, a long-running operation) / DELETE (200, 202 + operation, or 204),
as Azure/azure-rest-api-specs Microsoft.CognitiveServices (Deployment.tsp, stable 2025-06-01
examples) describes them. A PUT answers the deployment with `provisioningState` Creating or
Updating and an `Azure-AsyncOperation` (or `Location`) header; `operation(url)` reads that
operation's `status` (InProgress, Succeeded, Failed, Canceled) as ARM's asynchronous-operations
contract says. The bearer token is registered as a secret by the caller and never appears in an
error. Nothing here sleeps: waiting between polls is the caller's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import ApiError, AuthError, ConnectionFailedError, NotFoundError, RateLimitError

__all__ = ["API_VERSION", "DEFAULT_MANAGEMENT_URL", "TERMINAL", "ArmAccount", "ArmClient"]

API_VERSION = "2025-06-01"
DEFAULT_MANAGEMENT_URL = "https://management.azure.com"
TERMINAL = frozenset({"Succeeded", "Failed", "Canceled"})
Obj = dict[str, Any]


class ArmAccount:
    """Where one Cognitive Services account lives in ARM."""

    def __init__(self, subscription_id: str, resource_group: str, account: str):
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account = account

    @property
    def path(self) -> str:
        return (f"/subscriptions/{quote(self.subscription_id, safe='')}/resourceGroups/"
                f"{quote(self.resource_group, safe='')}/providers/Microsoft.CognitiveServices/accounts/"
                f"{quote(self.account, safe='')}")

    def deployment_id(self, name: str) -> str:
        return f"{self.path}/deployments/{name}"

    def owns(self, deployment_id: str) -> bool:
        return deployment_id.lower().startswith(self.path.lower() + "/deployments/")


class ArmClient:
    def __init__(self, management_url: str, token: str, account: ArmAccount, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, insecure_http: bool = False):
        url = management_url.rstrip("/")
        if url.startswith("http://") and not insecure_http and not _local(url):
            raise ValueError(f"refusing to send a bearer token over plain http to {url}")
        self.management_url = url
        self.account = account
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    # -- calls -------------------------------------------------------------------------------------
    def list_deployments(self) -> Iterator[Obj]:
        url: str | None = self._url(self.account.path + "/deployments")
        pages = 0
        while url:
            page = self._call("GET", url).json()
            yield from page.get("value") or []
            url = page.get("nextLink")
            pages += 1
            if pages > 1000:
                raise ApiError("the deployments listing did not end after 1000 pages", method="GET",
                               path=self.account.path + "/deployments")

    def get_deployment(self, name: str) -> Obj:
        result: Obj = self._call("GET", self._url(self.account.deployment_id(name))).json()
        return result

    def put_deployment(self, name: str, body: Obj) -> tuple[Obj, str | None]:
        """(the deployment as answered, the URL of its operation to poll, if it is not done)."""
        response = self._call("PUT", self._url(self.account.deployment_id(name)), json=body)
        obj: Obj = response.json()
        return obj, _operation_url(response)

    def delete_deployment(self, name: str) -> str | None:
        """The URL of the deletion's operation to poll, if it is not done (a deployment already gone
        raises NotFoundError)."""
        response = self._call("DELETE", self._url(self.account.deployment_id(name)))
        return _operation_url(response) if response.status_code == 202 else None

    def operation(self, url: str) -> Obj:
        """An asynchronous operation's status resource (`status`: InProgress, Succeeded, ...)."""
        if not url.startswith(self.management_url + "/"):
            raise ApiError(f"the operation URL {url} is not under {self.management_url}")
        result: Obj = self._call("GET", url).json()
        return result

    # -- plumbing ------------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.management_url}{path}?api-version={API_VERSION}"

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        path = url.removeprefix(self.management_url).split("?")[0]
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.ConnectError as exc:
                if attempt + 1 < attempts:
                    continue
                raise ConnectionFailedError(f"cannot reach {self.management_url}: {type(exc).__name__}",
                                            method=method, path=path) from None
            except httpx.HTTPError as exc:
                if method == "GET" and attempt + 1 < attempts:
                    continue
                raise ConnectionFailedError(f"{type(exc).__name__} talking to {self.management_url}",
                                            method=method, path=path) from None
            if response.status_code < 400:
                return response
            if method == "GET" and response.status_code >= 500 and attempt + 1 < attempts:
                continue
            raise _error(response, method, path)
        raise AssertionError("unreachable")  # pragma: no cover


def _operation_url(response: httpx.Response) -> str | None:
    return response.headers.get("Azure-AsyncOperation") or response.headers.get("Location") or None


def _error(response: httpx.Response, method: str, path: str) -> ApiError:
    """ARM's error body: {"error": {"code", "message"}} (the common resource-manager shape)."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    text = f"{code}: {message}" if code and message else (message or code or response.reason_phrase)
    status = response.status_code
    request_id = response.headers.get("x-ms-request-id") or response.headers.get("x-ms-correlation-request-id")
    cls = (AuthError if status in (401, 403) else NotFoundError if status == 404 else
           RateLimitError if status == 429 else ApiError)
    return cls(str(text), status=status, code=code, request_id=request_id, method=method, path=path)


def _local(url: str) -> bool:
    host = httpx.URL(url).host
    return host in ("127.0.0.1", "localhost", "::1")
