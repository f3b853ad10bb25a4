"""The document endpoints: thin views over `documents.services`."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import retention, serializers, services, storage
from documents.models import Document
from ilios import idempotency
from ilios.errors import ApiError
from ilios.openapi import ERROR_RESPONSES, STORAGE_FULL, error_response
from jobs import queue
from jobs.serializers import deliveries_of

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    enum=["markdown", "json"],
    default="markdown",
    description="markdown (text/markdown) or json",
)


SUBMIT_SCHEMA = {
    "request": {"multipart/form-data": serializers.SubmitDocumentSerializer},
    "parameters": [idempotency.PARAMETER],
    "responses": {
        202: serializers.SubmittedDocumentSerializer,
        **ERROR_RESPONSES,
        413: error_response,
        415: error_response,
        **idempotency.RESPONSES,
        507: STORAGE_FULL,
    },
}


def submitted_body(document: Document, status_url: str) -> dict:
    return {
        "id": document.id,
        "status": document.status,
        "fileName": document.file_name,
        "fileSize": document.file_size,
        "mimeType": document.mime_type,
        "engine": document.engine,
        "retentionDays": document.retention_days,
        "createdAt": document.created_at,
        "statusUrl": status_url,
    }


class ConvertView(APIView):
    @extend_schema(
        operation_id="convert",
        summary="Convert a file now (no queue) and answer its Markdown or JSON",
        request={"multipart/form-data": serializers.ConvertSerializer},
        parameters=[idempotency.PARAMETER],
        responses={
            (200, "text/markdown"): OpenApiTypes.STR,
            (200, "application/json"): serializers.ConvertedDocumentSerializer,
            **ERROR_RESPONSES,
            413: error_response,
            415: error_response,
            **idempotency.RESPONSES,
            507: STORAGE_FULL,
        },
    )
    @idempotency.idempotent
    def post(self, request):
        form = serializers.ConvertSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        engine, options, _ = services.conversion_options(form.validated_data)
        document, result = services.convert_now(
            form.validated_data["file"],
            api_key=request.auth,
            engine=engine,
            options=options,
            retention_days=form.validated_data["retentionDays"],
        )
        if form.validated_data["format"] == "json":
            return Response(
                {
                    "id": document.id,
                    "content": document.content,
                    "metadata": document.metadata,
                    "usage": {
                        "prompt_tokens": result.input_tokens or 0,
                        "completion_tokens": result.output_tokens or 0,
                        "total_tokens": (result.input_tokens or 0) + (result.output_tokens or 0),
                        "pages": result.pages_processed,
                    },
                    "downloadUrl": f"/v1/documents/{document.id}",
                }
            )
        response = HttpResponse(document.content, content_type="text/markdown; charset=utf-8")
        response["X-Document-Id"] = document.id
        response["X-Processing-Time-Ms"] = str(result.processing_ms)
        response["X-Extracted-Pages"] = str(result.pages_processed)
        return response


class DocumentCollectionView(APIView):
    @extend_schema(
        operation_id="submit_document",
        summary="Submit a document for asynchronous conversion",
        **SUBMIT_SCHEMA,
    )
    @idempotency.idempotent
    def post(self, request):
        form = serializers.SubmitDocumentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        engine, options, pages_text = services.conversion_options(form.validated_data)
        document = services.submit(
            form.validated_data["file"],
            api_key=request.auth,
            engine=engine,
            options=options,
            pages_text=pages_text,
            retention_days=form.validated_data["retentionDays"],
            priority=form.validated_data["priority"],
            webhook_url=services.webhook_target(form.validated_data, request.auth),
        )
        return Response(
            submitted_body(document, self.status_url(document)), status=status.HTTP_202_ACCEPTED
        )

    def status_url(self, document: Document) -> str:
        return f"/v1/documents/{document.id}/status"

    @extend_schema(
        operation_id="list_documents",
        summary="List the caller's documents, newest first",
        parameters=[serializers.DocumentListQuerySerializer],
        responses={200: serializers.DocumentPageSerializer, **ERROR_RESPONSES},
    )
    def get(self, request):
        query = serializers.DocumentListQuerySerializer(data=request.GET)
        query.is_valid(raise_exception=True)
        documents = services.visible_documents(request.auth)
        if query.validated_data.get("status"):
            documents = documents.filter(status=query.validated_data["status"])
        if query.validated_data.get("batchId"):
            documents = documents.filter(batch_id=query.validated_data["batchId"])
        paginator = ValidatedPagination(query.validated_data)
        page = paginator.paginate_queryset(documents.defer("content"), request, view=self)
        return paginator.get_paginated_response(
            serializers.DocumentSummarySerializer(page, many=True).data
        )


class ValidatedPagination(LimitOffsetPagination):
    """DRF's limit/offset pages, with the values the query serializer validated."""

    def __init__(self, query: dict):
        self.query = query

    def get_limit(self, request):
        return self.query["limit"]

    def get_offset(self, request):
        return self.query["offset"]


class LegacySubmitView(DocumentCollectionView):
    """`/api/documents/submit`: the original service's path; it only ever accepted POST."""

    http_method_names = ["post", "options"]

    @extend_schema(
        operation_id="submit_document",
        summary="Submit a document for asynchronous conversion (original path)",
        **SUBMIT_SCHEMA,
    )
    def post(self, request):
        return super().post(request)

    def status_url(self, document: Document) -> str:
        return f"/api/documents/status/{document.id}"


class DocumentStatusView(APIView):
    @extend_schema(
        operation_id="document_status",
        summary="A document's conversion status",
        responses={200: serializers.DocumentStatusSerializer, **ERROR_RESPONSES},
    )
    def get(self, request, document_id):
        body = services.document_status(document_id, request.auth)
        if body is None:
            raise NotFound("not found")
        return Response(body)


class DocumentView(APIView):
    @extend_schema(
        operation_id="document_content",
        summary="The converted Markdown (or JSON with ?format=json)",
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "text/markdown"): OpenApiTypes.STR,
            (200, "application/json"): serializers.DocumentContentSerializer,
            202: serializers.DocumentStatusSerializer,
            409: OpenApiResponse(error_response, description="cancelled before conversion"),
            422: OpenApiResponse(error_response, description="the conversion failed"),
            410: OpenApiResponse(error_response, description="archived or erased"),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, document_id):
        document = get_object_or_404(services.visible_documents(request.auth), id=document_id)
        if document.status in (Document.Status.PENDING, Document.Status.PROCESSING):
            return Response(
                {"id": document.id, "status": document.status, "fileName": document.file_name},
                status=status.HTTP_202_ACCEPTED,
            )
        if document.status == Document.Status.ARCHIVED:
            raise ApiError(
                status.HTTP_410_GONE,
                "archived",
                "this document's content was deleted after its retention period or on request",
            )
        if document.status == Document.Status.CANCELLED:
            raise ApiError(
                status.HTTP_409_CONFLICT,
                "cancelled",
                "this document was cancelled before it was converted",
            )
        if document.status == Document.Status.FAILED:
            raise ApiError(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "conversion_failed",
                document.error,
                id=document.id,
                status=document.status,
                deliveries=deliveries_of(document),
            )
        if request.GET.get("format") == "json":
            return Response(
                {
                    "id": document.id,
                    "status": document.status,
                    "fileName": document.file_name,
                    "content": document.content,
                    "metadata": document.metadata,
                    "deliveries": deliveries_of(document),
                }
            )
        response = HttpResponse(document.content, content_type="text/markdown; charset=utf-8")
        response["X-Document-Id"] = document.id
        return response

    @extend_schema(
        operation_id="delete_document",
        summary="Cancel a pending document, or erase a finished one's content and original",
        responses={
            200: serializers.DocumentStatusSerializer,
            409: error_response,
            **ERROR_RESPONSES,
        },
    )
    def delete(self, request, document_id):
        document = get_object_or_404(
            services.visible_documents(request.auth).defer("content"), id=document_id
        )
        if document.status in (Document.Status.PENDING, Document.Status.PROCESSING):
            queue.cancel_pending([document.id])  # a processing one, only when it fanned out
        elif document.status != Document.Status.ARCHIVED:
            retention.archive(document)
        document.refresh_from_db(fields=["status"])
        if document.status == Document.Status.PROCESSING:
            raise ApiError(
                status.HTTP_409_CONFLICT,
                "processing",
                "the document is being converted; delete it once it has finished",
            )
        return Response(
            {"id": document.id, "status": document.status, "fileName": document.file_name}
        )


class DocumentOriginalView(APIView):
    @extend_schema(
        operation_id="document_original",
        summary="The uploaded file, streamed",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            410: error_response,
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, document_id):
        document = get_object_or_404(
            services.visible_documents(request.auth).defer("content"), id=document_id
        )
        if not document.original:
            raise ApiError(status.HTTP_410_GONE, "archived", "the original file was deleted")
        return FileResponse(
            storage.open_original(document.original),
            as_attachment=True,
            filename=document.file_name,
            content_type=document.mime_type,
        )
