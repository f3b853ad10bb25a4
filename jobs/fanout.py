"""Big documents fan out: page-range parts converted as jobs of their own, stitched in order.

A PDF of more than FANOUT_PAGES pages is queued as a waiting job (the document's) and one
convert job per FANOUT_PAGES pages (its parts), written with the document in the submitting
transaction. To the queue a part is an ordinary convert job, with its page range in its payload:
any worker on any host claims it, it is retried on its own, and orphan recovery takes it back
when its worker dies. What differs is what a part's end writes, and that is here; every function
runs inside the transaction that changes the part's status (`jobs.queue` holds it).

- A converted part keeps its pages' Markdown in its own row (`result["markdownPages"]`) until
  the document is stitched, then only its summary. Rows rather than storage objects: the Markdown
  commits with the part's completion, so no part is completed without it and a crash leaves
  nothing to sweep; a part's text is a few hundred KB at most.
- It then counts itself off its parent (`parts_left - 1`, only while the parent waits). Two
  workers finishing the last two parts at once both update the parent's row: its row lock
  orders them (PostgreSQL re-reads the row once the first commits; on SQLite the write lock
  taken at BEGIN orders the whole transactions), so exactly one reads zero, and that one
  stitches in the same transaction: the document's content (every part's pages in page order),
  its one bill for all its pages, its webhooks and its batch's count. There is no moment
  between the last part's completion and the stitch for a crash to fall into: a crash before
  the commit leaves the part processing (orphan recovery runs it again), after it the document
  complete.
- A part that fails for good fails its parent with its reason, once (the same conditional
  update), and cancels the parts still pending. A part running meanwhile finds its parent no
  longer waiting: its result is dropped, and a failed attempt of it is not retried.
- Cancelling or deleting the document cancels its parent and its pending parts the same way.

Claims spread a document's parts over the worker processes when its engine converts one page
at a time in a process (`ONE_PART_PER_PROCESS` in the engine registry: the local engine, held
by PDFium's lock and the GIL): a process takes one part of a document at a time, so a second
process, or host, takes the next instead of it waiting in the first one's threads.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet

from documents.engines.base import ConversionResult, Page, page_range_text
from documents.models import Document
from jobs import db, outcomes
from jobs.models import Job
from jobs.payload import without_secrets


def enqueue(document: Document, payload: dict, parts: list[tuple[int, ...]], now) -> Job:
    """Queue a document as parts of these 1-based pages, and their waiting parent.

    The parent carries no password (it never converts anything); each part carries the sealed
    one until it ends. Parts are queued in page order, so they are claimed in page order too.
    """
    total = sum(len(part) for part in parts)
    parent = Job.objects.create(
        document=document,
        type=Job.Type.CONVERT,
        status=Job.Status.WAITING,
        priority=document.priority,
        max_attempts=settings.JOB_MAX_ATTEMPTS,
        payload={**without_secrets(payload), "pagesTotal": total},
        scheduled_at=now,
        started_at=now,
        parts_left=len(parts),
    )
    Job.objects.bulk_create(
        [
            Job(
                document=document,
                type=Job.Type.CONVERT,
                priority=document.priority,
                max_attempts=settings.JOB_MAX_ATTEMPTS,
                payload={**payload, "pages": page_range_text(part)},
                scheduled_at=now,
                created_at=now,
                parent=parent,
            )
            for part in parts
        ]
    )
    Document.objects.filter(id=document.id).update(metadata=progress(0, total))
    return parent


def _one_part_engines() -> list[str]:
    return [name for name, entry in settings.ENGINES.items() if entry.get("ONE_PART_PER_PROCESS")]


def spread(ready: QuerySet, worker_id: int) -> QuerySet:
    """The ready jobs, less the parts of documents this worker already converts a part of
    when their engine converts one page at a time in a process.

    Those documents are read first, in a plain query: as a subquery of the claim's, the ORM
    spent longer building the condition on every claim than the rest of the claim took.
    """
    engines = _one_part_engines()
    running_here = _parents_running_one_part(worker_id, engines) if engines else []
    return ready.exclude(parent_id__in=running_here) if running_here else ready


def _parents_running_one_part(worker_id: int, engines: list[str]) -> list[int]:
    """The waiting parents of the parts this worker converts with one of these engines (a
    document's parts share its row, so its engine)."""
    quote = connection.ops.quote_name
    job, document = quote(Job._meta.db_table), quote(Document._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT j.parent_id FROM {job} j JOIN {document} d ON d.id = j.document_id"
            f" WHERE j.worker_id = %s AND j.status = %s AND j.parent_id IS NOT NULL"
            f" AND d.engine IN ({', '.join(['%s'] * len(engines))})",
            [worker_id, Job.Status.PROCESSING, *engines],
        )
        return [parent_id for (parent_id,) in cursor.fetchall()]


def one_part_each(jobs: list[Job]) -> list[Job]:
    """At most one part of each such document out of one claim's jobs (`spread`)."""
    engines = _one_part_engines()
    taken: set[int] = set()
    kept = []
    for job in jobs:
        if job.parent_id and job.document and job.document.engine in engines:
            if job.parent_id in taken:
                continue
            taken.add(job.parent_id)
        kept.append(job)
    return kept


def progress(done: int, total: int) -> dict:
    """What a fanned-out document's status shows while its parts convert."""
    return {"pagesDone": done, "pagesTotal": total}


def part_result(result: ConversionResult) -> dict:
    """A converted part's row: its summary, and its pages until the document is stitched."""
    return {
        **outcomes.summary(result),
        "inputTokens": result.input_tokens,
        "outputTokens": result.output_tokens,
        "markdownPages": [[page.index, page.markdown] for page in result.pages],
    }


def converted(parts: list[tuple[Job, ConversionResult]], now) -> None:
    """Count converted parts (their rows already completed) off their parents; the one that
    leaves none stitches its document.

    Parents are updated in id order, so two group commits holding parts of the same two
    documents cannot wait on each other's parent.
    """
    for job, result in sorted(parts, key=lambda finished: finished[0].parent_id or 0):
        counted = _waiting_parent(job).update(
            parts_left=F("parts_left") - 1, pages_done=F("pages_done") + result.pages_processed
        )
        if not counted:
            continue  # cancelled, or failed by another part: nothing left to record
        parent = Job.objects.select_related("document").get(parts=job)
        if parent.parts_left:
            Document.objects.filter(id=parent.document_id).update(
                metadata=progress(parent.pages_done, parent.payload["pagesTotal"])
            )
            # The worker may have found its next part held back (`spread`) and gone idle: wake
            # it rather than leave its seat empty until its next poll.
            db.notify_on_commit()
        else:
            _stitch(parent, now)


def _stitch(parent: Job, now) -> None:
    parts = list(Job.objects.filter(parent=parent).order_by("id"))
    results = [_kept_result(part.result or {}) for part in parts]
    whole = ConversionResult.joined(results)
    Job.objects.filter(id=parent.id).update(
        status=Job.Status.COMPLETED, completed_at=now, result=outcomes.summary(whole)
    )
    for part, result in zip(parts, results, strict=True):  # the Markdown is the document's now
        Job.objects.filter(id=part.id).update(result=outcomes.summary(result))
    assert parent.document is not None
    outcomes.converted([(parent.document, whole)], now)


def _kept_result(kept: dict) -> ConversionResult:
    return ConversionResult(
        pages=[Page(index, markdown) for index, markdown in kept["markdownPages"]],
        model=kept["model"],
        input_tokens=kept["inputTokens"],
        output_tokens=kept["outputTokens"],
        processing_ms=kept["processingTimeMs"],
    )


def _waiting_parent(part: Job):
    assert part.parent_id is not None, f"job {part.id} is not a part"
    return Job.objects.filter(id=part.parent_id, status=Job.Status.WAITING)


def failed(part: Job, error: str, now) -> None:
    """A part failed for good: its document fails with its reason, unless it already ended."""
    reason = f"pages {part.payload.get('pages')}: {error}"
    ended = _waiting_parent(part).update(status=Job.Status.FAILED, completed_at=now, error=reason)
    if not ended:
        return
    Job.objects.filter(parent_id=part.parent_id, status=Job.Status.PENDING).update(
        status=Job.Status.CANCELLED, completed_at=now, payload={}
    )
    assert part.document is not None
    outcomes.failed(part.document, reason, now)


def abandoned(part: Job) -> bool:
    """Whether the part's document no longer waits for it (cancelled, or failed by another
    part): a failed attempt of it is then not worth another."""
    return not _waiting_parent(part).exists()


def cancel(document_ids, now) -> list[str]:
    """Cancel the waiting parents of these documents and their pending parts; returns the
    documents whose parents were cancelled. Parts already running finish and are dropped.

    The parents' rows are locked first, so a part completing meanwhile either counted itself
    before (and the parent is still cancelled) or finds the parent cancelled.
    """
    parents = list(
        Job.objects.select_for_update()
        .filter(document_id__in=document_ids, status=Job.Status.WAITING)
        .values_list("id", "document_id")
    )
    if not parents:
        return []
    parent_ids = [parent_id for parent_id, _ in parents]
    Job.objects.filter(id__in=parent_ids).update(status=Job.Status.CANCELLED, completed_at=now)
    Job.objects.filter(parent_id__in=parent_ids, status=Job.Status.PENDING).update(
        status=Job.Status.CANCELLED, completed_at=now, payload={}
    )
    return [document_id for _, document_id in parents]
