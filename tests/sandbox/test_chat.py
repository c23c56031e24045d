"""The sandbox's chat completions, through the official SDK, checked against the contract kept in
tests/contract/openai-chat.supplement.openapi.yaml: deterministic answers, usage counted as the API
counts chat tokens, a fine-tune answering from its data, 404 for what does not serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
import yaml

from reconciler.cost.tokens import count_record, count_text

CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "openai-chat.supplement.openapi.yaml"
KEY = "sk-proj-chat-0123456789abcdef"


def validator() -> jsonschema.protocols.Validator:
    supplement = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/CreateChatCompletionResponse",
                                            "components": supplement["components"]})


def ask(client: openai.OpenAI, model: str, text: str, **extra: Any) -> Any:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}],
                                          temperature=0, **extra)


def test_answers_are_deterministic_counted_and_match_the_contract(sandbox) -> None:
    client = openai.OpenAI(base_url=sandbox.base_url, api_key=KEY, max_retries=0)
    first = ask(client, "gpt-4o-mini", "Where is my order?", seed=7)
    again = ask(client, "gpt-4o-mini-2024-07-18", "Where is my order?", seed=7)
    other_seed = ask(client, "gpt-4o-mini", "Where is my order?", seed=8)
    other_model = ask(client, "gpt-4.1-mini", "Where is my order?", seed=7)
    for response in (first, again, other_seed, other_model):
        errors = list(validator().iter_errors(response.model_dump(mode="json", exclude_unset=True)))
        assert not errors, errors[0].message
    assert first.model == "gpt-4o-mini-2024-07-18"  # an alias answers as its snapshot
    assert first.choices[0].message.content == again.choices[0].message.content
    assert first.choices[0].message.content not in (other_seed.choices[0].message.content,
                                                    other_model.choices[0].message.content)
    text = first.choices[0].message.content
    assert first.usage.prompt_tokens == count_record(
        {"messages": [{"role": "user", "content": "Where is my order?"}]}, "chat", "o200k_base")
    assert first.usage.completion_tokens == count_text(text, "o200k_base")
    usage = sandbox.world.usage["gpt-4o-mini-2024-07-18"]
    assert usage["requests"] == 3
    assert usage["prompt_tokens"] == 3 * first.usage.prompt_tokens


def test_max_completion_tokens_cuts_the_answer(sandbox) -> None:
    client = openai.OpenAI(base_url=sandbox.base_url, api_key=KEY, max_retries=0)
    cut = ask(client, "gpt-4o", "Tell me everything.", max_completion_tokens=3)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens <= 3


def test_a_fine_tune_answers_from_its_data_and_only_once_trained(sandbox, tmp_path: Path) -> None:
    client = openai.OpenAI(base_url=sandbox.base_url, api_key=KEY, max_retries=0)
    lines = [json.dumps({"messages": [{"role": "user", "content": f"How do I reset password number {i}?"},
                                      {"role": "assistant", "content": f"Open Settings, then Reset ({i})."}]})
             for i in range(12)]
    upload = client.files.create(file=("t.jsonl", ("\n".join(lines) + "\n").encode()), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=upload.id)
    # the name the model will have once trained: not served before
    model = next(name for name, job_id in sandbox.world.models.items() if job_id == job.id)
    with pytest.raises(openai.NotFoundError) as err:
        ask(client, model, "hi")
    assert err.value.body == {"message": f"The model `{model}` does not exist or you do not have access to it.",
                              "type": "invalid_request_error", "param": None, "code": "model_not_found"}
    sandbox.advance(24 * 3600)
    trained = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert trained == model
    # a prompt like one it was trained on gets that example's answer
    assert ask(client, trained, "How do I reset password number 3?").choices[0].message.content == \
        "Open Settings, then Reset (3)."
    # a prompt far from its data: generated, but the same every time
    far = ask(client, trained, "What is the capital of France?").choices[0].message.content
    assert far == ask(client, trained, "What is the capital of France?").choices[0].message.content
    # a deleted model answers no more
    client.models.delete(trained)
    with pytest.raises(openai.NotFoundError):
        ask(client, trained, "How do I reset password number 3?")


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": [{"role": "user", "content": "x"}]}, None),
    ({"model": "gpt-4o", "messages": []}, "messages"),
    ({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature"),
])
def test_bad_requests_are_400_in_the_error_shape(sandbox, body: dict[str, Any], param: str | None) -> None:
    import httpx

    answer = httpx.post(sandbox.base_url + "/chat/completions", json=body,
                        headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
