"""The batch endpoints: thin views over `batches.services` and `batches.export`."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from batches import export, services
from batches.status import (
    batch_details_serializer,
    batch_status_serializer,
    documents_of,
    status_body,
)
from documents.serializers import QueuedConversionSerializer
from documents.services import conversion_options, webhook_target
from ilios import idempotency
from ilios.openapi import ERROR_RESPONSES, STORAGE_FULL, error_response


class BatchSubmitSerializer(QueuedConversionSerializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), min_length=1, max_length=1000
    )
    useMistralBatch = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Convert the batch through Mistral's Batch API: one Mistral batch job for "
        "every file, later (Mistral's batch jobs may take hours) and billed at the batch price "
        "(MISTRAL_BATCH_PRICE_PER_PAGE). Needs the mistral engine (400 "
        "`mistral_batch_unavailable` otherwise).",
    )
    model = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="With useMistralBatch: the Mistral OCR model (mistral-ocr-…) the batch job "
        "runs; MISTRAL_OCR_MODEL when omitted. 400 `invalid_model` otherwise.",
    )


class BatchSubmitView(APIView):
    @extend_schema(
        operation_id="submit_batch",
        summary="Submit many files for asynchronous conversion as one batch",
        request={"multipart/form-data": BatchSubmitSerializer},
        parameters=[idempotency.PARAMETER],
        responses={
            202: inline_serializer(
                "SubmittedBatch",
                fields={
                    "batchId": serializers.CharField(),
                    "status": serializers.CharField(),
                    "totalDocuments": serializers.IntegerField(),
                    "documents": inline_serializer(
                        "BatchDocument",
                        many=True,
                        fields={
                            "id": serializers.CharField(),
                            "fileName": serializers.CharField(),
                            "fileSize": serializers.IntegerField(),
                            "status": serializers.CharField(),
                            "error": serializers.CharField(required=False),
                        },
                    ),
                    "statusUrl": serializers.CharField(),
                },
            ),
            **ERROR_RESPONSES,
            413: error_response,
            **idempotency.RESPONSES,
            507: STORAGE_FULL,
        },
    )
    @idempotency.idempotent
    def post(self, request):
        form = BatchSubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        mistral_model = services.mistral_batch_model(form.validated_data)
        engine, options, pages_text = conversion_options(form.validated_data)
        services.check_mistral_batch_engine(mistral_model, engine)
        batch = services.submit(
            form.validated_data["files"],
            api_key=request.auth,
            engine=engine,
            options=options,
            pages_text=pages_text,
            retention_days=form.validated_data["retentionDays"],
            priority=form.validated_data["priority"],
            webhook_url=webhook_target(form.validated_data, request.auth),
            mistral_model=mistral_model,
            use_cache=form.validated_data["cache"],
        )
        documents = [
            {
                "id": d.id,
                "fileName": d.file_name,
                "fileSize": d.file_size,
                "status": d.status,
                **({"error": d.error} if d.error else {}),
            }
            for d in batch.documents_in_upload_order().defer("content")
        ]
        return Response(
            {
                "batchId": batch.id,
                "status": batch.status,
                "totalDocuments": batch.total_documents,
                "documents": documents,
                "statusUrl": f"/v1/batch/status/{batch.id}",
            },
            status=status.HTTP_202_ACCEPTED,
        )


class BatchStatusView(APIView):
    @extend_schema(
        operation_id="batch_status",
        summary="A batch's progress",
        parameters=[
            OpenApiParameter(
                "details", bool, description="true: also each document's status, in upload order"
            )
        ],
        responses={200: batch_details_serializer, **ERROR_RESPONSES},
    )
    def get(self, request, batch_id):
        batch = get_object_or_404(services.visible_batches(request.auth), id=batch_id)
        body = status_body(batch)
        if request.GET.get("details") == "true":
            body["documents"] = documents_of(batch)
        return Response(body)


class BatchView(APIView):
    @extend_schema(
        operation_id="cancel_batch",
        summary="Cancel a batch: its pending documents are not converted",
        responses={200: batch_status_serializer, **ERROR_RESPONSES},
    )
    def delete(self, request, batch_id):
        batch = get_object_or_404(services.visible_batches(request.auth), id=batch_id)
        services.cancel(batch)
        batch.refresh_from_db()
        return Response(status_body(batch))


class BatchDownloadView(APIView):
    @extend_schema(
        operation_id="batch_download",
        summary="The batch's results: JSONL (one line per document) or ZIP (Markdown + manifest)",
        parameters=[OpenApiParameter("format", str, enum=["jsonl", "zip"], default="jsonl")],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "application/zip"): OpenApiTypes.BINARY,
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, batch_id):
        batch = get_object_or_404(services.visible_batches(request.auth), id=batch_id)
        if request.GET.get("format") == "zip":
            response = StreamingHttpResponse(
                export.zip_archive(batch), content_type="application/zip"
            )
            response["Content-Disposition"] = f'attachment; filename="batch-{batch.id}.zip"'
            return response
        response = StreamingHttpResponse(export.jsonl(batch), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.id}.jsonl"'
        return response
