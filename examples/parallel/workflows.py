"""Fan-out / fan-in: one child workflow per item, all running in parallel, results in order.

``ctx.step.batch_invoke_and_wait(key, [BatchWorkflowInput(id=..., payload=...), ...])`` starts every
child at once (one write), frees the worker while they run -- on as many workers as you have -- and
returns one :class:`polos.BatchStepResult` per item, in request order.  Failures are per item
(``success=False`` and ``error``); the step itself does not fail, so the parent decides what a
partial failure means.
"""

from __future__ import annotations

import asyncio

from polos import BatchWorkflowInput, WorkflowContext, workflow


def fetch_page(url: str) -> str:
    """Pretend to download a page (a real one would use httpx)."""
    pages = {
        "https://example.com/a": "durable workflows survive crashes",
        "https://example.com/b": "steps are recorded once and replayed",
        "https://example.com/c": "",
        "https://example.com/d": "fan out to children then fan in",
    }
    return pages[url]


async def tag_page(item: dict) -> str:
    """Pretend to call a slow classification API."""
    await asyncio.sleep(0.05)
    return "long" if item["words"] > 5 else "short"


@workflow(id="parallel_summarize")
async def summarize(ctx: WorkflowContext, payload: dict) -> dict:
    """One item of the fan-out: fetch a page and count its words (fails on an empty page)."""
    text = await ctx.step.run("fetch", fetch_page, payload["url"])
    if not text:
        raise ValueError(f"{payload['url']} is empty")
    words = text.split()
    return {"url": payload["url"], "words": len(words), "first": words[0]}


@workflow(id="parallel_report")
async def report(ctx: WorkflowContext, payload: dict) -> dict:
    """Fan out to one child per URL, fan in to a report that lists the failures."""
    results = await ctx.step.batch_invoke_and_wait(
        "summaries",
        [BatchWorkflowInput(id="parallel_summarize", payload={"url": url}) for url in payload["urls"]],
    )
    ok = [r.result for r in results if r.success]
    failed = {url: r.error for url, r in zip(payload["urls"], results, strict=True) if not r.success}

    # Parallel steps inside one execution: asyncio.gather over ctx.step.run calls with distinct
    # keys runs them concurrently, and each is recorded on its own.  return_exceptions=True lets
    # every step finish (and be recorded) even if one of them fails.
    tags = await asyncio.gather(
        *(ctx.step.run(f"tag-{i}", tag_page, item) for i, item in enumerate(ok)), return_exceptions=True
    )

    return {
        "total_words": sum(item["words"] for item in ok),
        "pages": ok,
        "failed": failed,
        "tags": [t if isinstance(t, str) else None for t in tags],
    }
