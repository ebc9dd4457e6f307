"""Property-based fuzzing of the whole HTTP API from its OpenAPI schema (schemathesis): no
answer is a 5xx, and every answer matches the status codes, content types and bodies the
schema declares. Each operation gets valid and invalid inputs (schemathesis's positive and
negative modes) with an admin key; about half of the audit and sample ids name a real
succeeded audit's, so the sample, review and export routes are fuzzed past their 404.

Hypothesis is driven here per operation rather than through schemathesis's pytest plugin,
whose fixture-based schemas fail under pytest 9 (they read ``request.node._nodeid``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Examples per operation: with ~20 operations, well over 1,000 requests in under a minute.
EXAMPLES_PER_OPERATION = 100
MIN_REQUESTS = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SAMPLES = 12


@pytest.fixture
def fuzzed_app(client_for: Any, redis_url: str) -> Iterator[Any]:
    """The API on the test database, sending its audits to a queue of its own that no
    worker reads (the queue is dropped afterwards)."""
    import redis

    queue = f"fuzz-{uuid.uuid4().hex[:8]}"
    yield client_for(audit_queue=queue).app
    redis.Redis.from_url(redis_url).delete(queue)


@pytest.mark.slow
def test_api_answers_within_its_schema(
    fuzzed_app: Any,
    seed_audit: Any,
    admin: dict[str, str],
    report: Any,
) -> None:
    # The schema needs a key too, like every endpoint but health and metrics.
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app, headers=admin)
    seeded: dict[str, str] = {}
    sample_ids = st.sampled_from([f"s{row}" for row in range(SAMPLES)])

    @schema.hook
    def flatmap_path_parameters(_context: Any, parameters: dict[str, Any] | None) -> Any:
        if not parameters:
            return st.just(parameters)
        real = dict(parameters)
        if "audit_id" in real:
            real["audit_id"] = seeded["audit_id"]
        if "sample_id" not in real:
            return st.sampled_from([parameters, real])
        return st.just(parameters) | sample_ids.map(lambda sample: {**real, "sample_id": sample})

    sent: list[str] = []
    problems: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        # A fresh audit for each operation: the one before may have deleted or reviewed it.
        seeded["audit_id"] = str(seed_audit(SAMPLES))
        strategy = st.one_of([operation.as_strategy(mode) for mode in GenerationMode])

        @hypothesis.given(case=strategy)
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def call(case: Any) -> None:
            sent.append(case.operation.label)
            case.call_and_validate(headers=admin, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:
            problems[operation.label] = str(exc)[:3000]
    report(f"schemathesis: {len(sent)} requests over {len(set(sent))} operations")
    assert not problems, "\n\n".join(f"{label}: {text}" for label, text in problems.items())
    assert len(sent) >= MIN_REQUESTS
