"""Client pieces that need no server: base-URL rules, path encoding, backoff maths, and the retry
edge cases a real server cannot produce on demand (via httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import random
import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from reconciler import api
from reconciler.api import ApiClient, RetryPolicy, map_bounded
from reconciler.api.client import MIB, check_base_url, client_options_from_env, path_template, segment
from reconciler.api.errors import AmbiguousCreateError, AnswerTooLargeError, DeadlineExceededError
from reconciler.api.pagination import paginate
from reconciler.api.retry import server_delay
from reconciler.errors import ApiError, ConfigError, RateLimitError

from .conftest import PROJECT_KEY, SleepRecorder


def test_public_names() -> None:
    assert sorted(api.__all__) == ["ApiClient", "ClientStats", "RetryInfo", "RetryPolicy", "map_bounded"]
    for name in api.__all__:
        assert getattr(api, name)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "http://localhost/v1", "http://127.5.6.7/v1",
                                 "http://[::1]:9/v1", "https://api.openai.com/v1"])
def test_allowed_base_urls(url: str) -> None:
    check_base_url(url)


@pytest.mark.parametrize("url", ["http://api.openai.com/v1", "http://10.0.0.1/v1", "http://128.0.0.1/v1",
                                 "http://localhost.evil.com/v1"])
def test_plain_http_elsewhere_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(ConfigError, match="plain http"):
        ApiClient(url, PROJECT_KEY)
    ApiClient(url, PROJECT_KEY, insecure_http=True).close()


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "not a url", "https://"])
def test_nonsense_base_urls(url: str) -> None:
    with pytest.raises(ConfigError, match=r"invalid API base URL .*: expected https://HOST/v1"):
        check_base_url(url)


def test_path_segments() -> None:
    assert segment("ft:gpt-4o-mini-2024-07-18:org:weather:B7R9VjQd") == "ft:gpt-4o-mini-2024-07-18:org:weather:B7R9VjQd"
    assert segment("a/b?c#d e%f+g") == "a%2Fb%3Fc%23d%20e%25f%2Bg"
    for bad in ("", ".", ".."):
        with pytest.raises(ConfigError, match=f"^invalid id '{re.escape(bad)}'$"):
            segment(bad)
    assert path_template("/fine_tuning/checkpoints/ft:a:b/permissions/cp_1") == \
        "/fine_tuning/checkpoints/{id}/permissions/{id}"


def test_full_jitter_backoff_bounds() -> None:
    policy = RetryPolicy()
    rng = random.Random(3)
    for index in range(12):
        ceiling = min(20.0, 0.5 * 2 ** index)
        samples = [policy.backoff(index, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # full jitter spreads over the whole range


def test_server_delay_parsing() -> None:
    now = dt.datetime(2026, 11, 21, 23, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=7), usegmt=True)
    assert server_delay({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert server_delay({"retry-after": "3"}) == 3.0
    assert server_delay({"retry-after": "0.5"}) == 0.5
    assert server_delay({"retry-after": later}, now) == pytest.approx(7.0)
    assert server_delay({"retry-after": "soon"}) is None
    assert server_delay({"retry-after-ms": "x"}) is None
    assert server_delay({}) is None
    assert RetryPolicy().delay(0, {"retry-after": "3600"}, random.Random()) == 60.0


Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def mock_client(handler: Handler, sleeps: SleepRecorder, **kw: object) -> ApiClient:
    return ApiClient("http://127.0.0.1:1/v1", PROJECT_KEY, transport=httpx.MockTransport(handler),
                     sleep=sleeps, rng=random.Random(1), **kw)  # type: ignore[arg-type]


def error(status: int, headers: dict[str, str] | None = None, message: str = "nope") -> httpx.Response:
    return httpx.Response(status, headers={"x-request-id": "req_1", **(headers or {})},
                          json={"error": {"message": message, "type": "x", "param": None, "code": None}})


OK = httpx.Response(200, json={"id": "ftjob-1", "object": "fine_tuning.job"})


def test_x_should_retry_false_wins_over_a_retryable_status() -> None:
    handler, seen = scripted(error(503, {"x-should-retry": "false"}))
    sleeps = SleepRecorder()
    with pytest.raises(ApiError) as info:
        mock_client(handler, sleeps).get_job("ftjob-1")
    assert len(seen) == 1 and sleeps.delays == [] and info.value.status == 503
    assert "gave up" not in str(info.value)


def test_x_should_retry_true_retries_an_otherwise_final_status() -> None:
    handler, seen = scripted(error(400, {"x-should-retry": "true"}), OK)
    sleeps = SleepRecorder()
    assert mock_client(handler, sleeps).get_job("ftjob-1")["id"] == "ftjob-1"
    assert len(seen) == 2 and len(sleeps.delays) == 1


def test_http_date_retry_after_is_honoured_and_huge_ones_capped() -> None:
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    handler, _ = scripted(error(429, {"retry-after": when}), error(503, {"retry-after": "86400"}), OK)
    sleeps = SleepRecorder()
    mock_client(handler, sleeps).get_job("ftjob-1")
    assert 27 <= sleeps.delays[0] <= 30.5
    assert sleeps.delays[1] == 60.0


@pytest.mark.parametrize("status", [408, 409, 500, 502, 504])
def test_other_retryable_statuses(status: int) -> None:
    handler, seen = scripted(error(status), OK)
    sleeps = SleepRecorder()
    client = mock_client(handler, sleeps)
    client.get_job("ftjob-1")
    assert len(seen) == 2 and client.stats.snapshot()["retries_by_reason"] == {str(status): 1}


@pytest.mark.parametrize("status", [400, 422, 501])
def test_final_statuses_are_not_retried(status: int) -> None:
    handler, seen = scripted(error(status), OK)
    sleeps = SleepRecorder()
    with pytest.raises(ApiError) as info:
        mock_client(handler, sleeps).get_job("ftjob-1")
    assert len(seen) == 1 and sleeps.delays == [] and info.value.status == status


def test_read_timeout_and_mid_response_drop_are_retried_for_reads() -> None:
    handler, seen = scripted(httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("peer closed"), OK)
    sleeps = SleepRecorder()
    client = mock_client(handler, sleeps)
    client.get_job("ftjob-1")
    assert len(seen) == 3 and client.stats.snapshot()["retries_by_reason"] == {"connection": 2}


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("peer closed"),
                                     httpx.WriteError("broken pipe"), error(500), error(503, {"retry-after": "1"}),
                                     error(409), error(400, {"x-should-retry": "true"}),
                                     httpx.Response(200, text="not json")])
def test_a_create_that_may_have_had_its_effect_is_never_re_sent(failure: httpx.Response | Exception) -> None:
    handler, seen = scripted(failure, OK)
    sleeps = SleepRecorder()
    with pytest.raises(AmbiguousCreateError, match=r"^POST /fine_tuning/jobs.*not sent again blindly"):
        mock_client(handler, sleeps).create_job({"model": "m", "training_file": "file-1"}, idempotency_key="k")
    assert len(seen) == 1 and sleeps.delays == []


@pytest.mark.parametrize("failure", [error(429, {"retry-after": "2"}), httpx.ConnectError("refused"),
                                     httpx.ConnectTimeout("slow connect")])
def test_a_create_that_cannot_have_had_its_effect_is_retried_with_the_same_key(
        failure: httpx.Response | Exception) -> None:
    handler, seen = scripted(failure, OK)
    client = mock_client(handler, SleepRecorder())
    client._answered = True
    assert client.create_job({"model": "m", "training_file": "file-1"}, idempotency_key="key-123")["id"] == "ftjob-1"
    assert [r.headers["idempotency-key"] for r in seen] == ["key-123"] * 2


def test_a_final_4xx_on_a_create_is_an_ordinary_error() -> None:
    handler, seen = scripted(error(400, message="bad model"))
    with pytest.raises(ApiError, match="bad model") as info:
        mock_client(handler, SleepRecorder()).create_job({"model": "m"}, idempotency_key="k")
    assert not isinstance(info.value, AmbiguousCreateError) and len(seen) == 1


def test_json_answers_are_capped_and_declared_sizes_refused_before_reading() -> None:
    big = httpx.Response(200, content=b'{"id": "' + b"x" * 3000 + b'"}')
    handler, _ = scripted(big)
    with pytest.raises(AnswerTooLargeError, match=r"^GET /fine_tuning/jobs/ftjob-1 → 200: the answer"):
        mock_client(handler, SleepRecorder(), max_body=1000).get_job("ftjob-1")

    def chunks() -> Iterator[bytes]:
        yield b'{"id": "'
        while True:
            yield b"x" * 4096

    handler, _ = scripted(httpx.Response(200, content=chunks()))  # no Content-Length: streamed and cut
    with pytest.raises(AnswerTooLargeError, match="larger than the 1 MiB accepted"):
        mock_client(handler, SleepRecorder(), max_body=MIB).get_job("ftjob-1")


def test_a_large_error_body_is_cut_not_refused() -> None:
    handler, _ = scripted(httpx.Response(400, text="e" * (3 * MIB)))
    with pytest.raises(ApiError) as info:
        mock_client(handler, SleepRecorder()).get_job("ftjob-1")
    assert info.value.status == 400 and "\n" not in str(info.value) and len(str(info.value)) < 400


def test_downloads_are_bounded_by_the_files_size() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/content"):
            return httpx.Response(200, content=b"y" * (200 + MIB))
        return httpx.Response(200, json={"id": "file-1", "bytes": 100})

    client = ApiClient("http://127.0.0.1:1/v1", PROJECT_KEY, transport=httpx.MockTransport(handler))
    with pytest.raises(AnswerTooLargeError, match=r"^GET /files/file-1/content → 200"):
        client.download_file("file-1")
    assert len(client.download_file("file-1", size=300 + MIB)) == 200 + MIB


def test_the_body_is_read_within_the_deadline() -> None:
    def slow() -> Iterator[bytes]:
        yield b'{"id": '
        while True:
            time.sleep(0.05)
            yield b" "

    handler, _ = scripted(httpx.Response(200, content=slow()))
    with pytest.raises(DeadlineExceededError, match=r"no complete answer within 0.3s"):
        mock_client(handler, SleepRecorder(), deadline=0.3).get_job("ftjob-1")


def test_options_from_the_environment() -> None:
    assert client_options_from_env({"RECONCILER_API_DEADLINE": "2.5", "RECONCILER_API_MAX_PAGES": "7",
                                    "RECONCILER_API_MAX_BODY_MB": "1", "RECONCILER_API_TIMEOUT": ""}) == \
        {"deadline": 2.5, "max_pages": 7, "max_body": MIB, "trust_env": True}
    for bad in ({"RECONCILER_API_MAX_PAGES": "1.5"}, {"RECONCILER_API_DEADLINE": "-1"},
                {"RECONCILER_API_DEADLINE": "nan"}, {"RECONCILER_API_TIMEOUT": "soon"}):
        with pytest.raises(ConfigError, match=r"^RECONCILER_API_\w+=.*: expected a positive"):
            client_options_from_env(bad)


def test_non_json_error_body_still_gives_a_one_line_message() -> None:
    handler, _ = scripted(httpx.Response(502, text="<html>\n<b>Bad gateway</b>\n</html>"))
    with pytest.raises(ApiError) as info:
        mock_client(handler, SleepRecorder(), max_retries=0).get_job("ftjob-1")
    assert str(info.value) == "GET /fine_tuning/jobs/ftjob-1 → 502: <html> <b>Bad gateway</b> </html>"


def test_query_strings_are_not_in_error_messages() -> None:
    handler, seen = scripted(error(429))
    with pytest.raises(RateLimitError) as info:
        list(mock_client(handler, SleepRecorder(), max_retries=0).list_jobs(metadata={"secret": "s3"}))
    assert "metadata" in str(seen[0].url) and "s3" not in str(info.value)
    assert str(info.value) == "GET /fine_tuning/jobs → 429: nope (request id req_1)"


def test_pagination_that_does_not_advance_is_an_error() -> None:
    page = httpx.Response(200, json={"object": "list", "data": [{"id": "a"}], "has_more": True})
    handler, seen = scripted(page)
    with pytest.raises(ApiError, match=r"^GET /fine_tuning/jobs: pagination did not advance: cursor 'a' was already"):
        list(mock_client(handler, SleepRecorder()).list_jobs())
    assert len(seen) == 2


def test_pagination_stops_at_the_page_bound_by_default_ten_thousand() -> None:
    fetched: list[str | None] = []

    def fetch(after: str | None) -> dict[str, object]:
        fetched.append(after)
        return {"object": "list", "data": [{"id": f"ftjob-{len(fetched)}"}], "has_more": True}

    with pytest.raises(ApiError, match=r"^GET /fine_tuning/jobs: the listing did not end after 10000 pages"):
        for _ in paginate(fetch, what="/fine_tuning/jobs"):
            pass
    assert len(fetched) == 10_000 and len(set(fetched)) == 10_000


def test_the_clients_page_bound_is_its_own() -> None:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return httpx.Response(200, json={"object": "list", "data": [{"id": f"ftjob-{count}"}], "has_more": True})

    client = mock_client(handler, SleepRecorder(), max_pages=25)
    with pytest.raises(ApiError, match=r"^GET /fine_tuning/jobs: the listing did not end after 25 pages"):
        for _ in client.list_jobs():
            pass
    assert count == 25 and ApiClient("http://127.0.0.1:1/v1", PROJECT_KEY).max_pages == 10_000


@pytest.mark.parametrize("item, problem", [({"object": "x"}, "no 'id'"), ({"id": 7}, "'id' is not a non-empty string"),
                                           ({"id": ""}, "'id' is not"), ("ftjob-1", "not an object (str)"),
                                           ({"id": "ftjob-2", "metadata": "x"}, "'metadata' of 'ftjob-2' is not")])
def test_malformed_items_name_the_endpoint_and_index(item: object, problem: str) -> None:
    first = httpx.Response(200, json={"object": "list", "data": [{"id": "f1"}, {"id": "f2"}], "has_more": True})
    second = httpx.Response(200, json={"object": "list", "data": [{"id": "f3", "metadata": None}, item],
                                       "has_more": False})
    handler, _ = scripted(first, second)
    with pytest.raises(ApiError, match=rf"^GET /files: malformed item 3 \(page 2, position 1\) in the listing: "
                                       rf"{re.escape(problem)}"):
        list(mock_client(handler, SleepRecorder()).list_files())


def test_map_bounded_keeps_order_and_bounds_concurrency() -> None:
    lock = threading.Lock()
    running = 0
    peak = 0

    def work(x: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return x * x

    assert map_bounded(work, range(40), max_workers=4) == [x * x for x in range(40)]
    assert 1 < peak <= 4
    assert map_bounded(work, [], 4) == []


@pytest.mark.parametrize("workers", [1, 3])
def test_map_bounded_reraises_the_first_error_after_all_finish(workers: int) -> None:
    finished: list[int] = []

    def work(x: int) -> int:
        if x in (2, 5):
            raise ValueError(f"bad {x}")
        time.sleep(0.005)
        finished.append(x)
        return x

    with pytest.raises(ValueError, match="bad 2"):
        map_bounded(work, range(8), max_workers=workers)
    assert sorted(finished) == [0, 1, 3, 4, 6, 7]


def test_a_streamed_download_cut_short_is_written_again_from_the_start() -> None:
    """download_file_to writes the body to the sink as it arrives; a connection lost mid-body is
    retried and the sink holds the whole file once, not a piece of the first attempt before it."""
    whole = b"".join(b"line %d\n" % i for i in range(50_000))
    attempts: list[int] = []

    def cut() -> Iterator[bytes]:
        yield whole[:100_000]
        raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(200, content=cut() if len(attempts) == 1 else iter([whole]))

    sink = io.BytesIO()
    written = mock_client(handler, SleepRecorder()).download_file_to("file-1", sink, size=len(whole))
    assert len(attempts) == 2 and written == len(whole) and sink.getvalue() == whole
    with pytest.raises(AnswerTooLargeError, match=r"^GET /files/file-1/content → 200"):
        mock_client(lambda r: httpx.Response(200, content=b"y" * (2 * MIB)), SleepRecorder()).download_file_to(
            "file-1", io.BytesIO(), size=10)
