"""The document endpoints: thin views over `documents.services`."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
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
            use_cache=form.validated_data["cache"],
        )
        input_tokens = (result.input_tokens or 0) if result else 0
        output_tokens = (result.output_tokens or 0) if result else 0
        if form.validated_data["format"] == "json":
            return Response(
                {
                    "id": document.id,
                    "content": document.content,
                    "metadata": document.metadata,
                    "usage": {
                        "prompt_tokens": input_tokens,
                        "completion_tokens": output_tokens,
                        "total_tokens": input_tokens + output_tokens,
                        "pages": document.pages,
                    },
                    "downloadUrl": f"/v1/documents/{document.id}",
                }
            )
        response = HttpResponse(document.content, content_type="text/markdown; charset=utf-8")
        response["X-Document-Id"] = document.id
        response["X-Processing-Time-Ms"] = str(document.metadata["processingTimeMs"])
        response["X-Extracted-Pages"] = str(document.pages)
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
            use_cache=form.validated_data["cache"],
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


class UploadUrlView(APIView):
    """A presigned URL to PUT a large file straight to the bucket, past the API."""

    @extend_schema(
        operation_id="document_upload_url",
        summary="Presign a direct upload of a file to S3 (S3 storage only)",
        request=serializers.UploadUrlRequestSerializer,
        responses={
            200: serializers.UploadUrlSerializer,
            **ERROR_RESPONSES,
            409: OpenApiResponse(
                error_response,
                description="direct_upload_unavailable: the server keeps files on local disk",
            ),
            413: error_response,
            415: error_response,
        },
    )
    def post(self, request):
        form = serializers.UploadUrlRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        document, url, headers = services.start_direct_upload(
            api_key=request.auth,
            file_name=form.validated_data["fileName"],
            file_size=form.validated_data["fileSize"],
            mime_type=form.validated_data.get("mimeType", ""),
            retention_days=form.validated_data["retentionDays"],
        )
        return Response(
            {
                "id": document.id,
                "uploadUrl": url,
                "uploadHeaders": headers,
                "s3Key": document.original,
                "expiresIn": storage.UPLOAD_URL_SECONDS,
                "completeUrl": self.complete_url(document),
            }
        )

    def complete_url(self, document: Document) -> str:
        return f"/v1/documents/{document.id}/upload-complete"


class LegacyUploadUrlView(UploadUrlView):
    def complete_url(self, document: Document) -> str:
        return f"/api/documents/upload-complete/{document.id}"


class UploadCompleteView(APIView):
    """Queue a directly uploaded file once its PUT has succeeded."""

    @extend_schema(
        operation_id="document_upload_complete",
        summary="Check a direct upload and queue its conversion (idempotent)",
        request=serializers.CompleteUploadSerializer,
        responses={
            202: serializers.CompletedUploadSerializer,
            **ERROR_RESPONSES,
            409: OpenApiResponse(
                error_response,
                description="upload_missing: nothing was PUT to the uploadUrl yet; "
                "direct_upload_unavailable: the server keeps files on local disk",
            ),
            413: error_response,
            415: error_response,
            422: error_response,
            507: STORAGE_FULL,
        },
    )
    def post(self, request, document_id):
        form = serializers.CompleteUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        document = services.complete_direct_upload(document_id, request.auth, form.validated_data)
        return Response(
            {
                **submitted_body(document, self.status_url(document)),
                "message": "Upload confirmed, queued for processing",
            },
            status=status.HTTP_202_ACCEPTED,
        )

    def status_url(self, document: Document) -> str:
        return f"/v1/documents/{document.id}/status"


class LegacyUploadCompleteView(UploadCompleteView):
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
        if document.status in Document.UNFINISHED:
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
        elif document.status == Document.Status.UPLOADING:
            services.abandon_upload(document)
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
        summary="The uploaded file, streamed (or 302 to the bucket: S3_ORIGINAL_REDIRECT)",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            302: OpenApiResponse(
                description="S3_ORIGINAL_REDIRECT: Location is a presigned URL of the file, "
                "valid 5 minutes"
            ),
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
        if settings.S3_ORIGINAL_REDIRECT and storage.presigns():
            return HttpResponseRedirect(
                storage.presigned_download(
                    document.original, document.file_name, document.mime_type
                )
            )
        return FileResponse(
            storage.open_original(document.original),
            as_attachment=True,
            filename=document.file_name,
            content_type=document.mime_type,
        )
