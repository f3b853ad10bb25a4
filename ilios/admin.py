"""API keys in the admin: created with the raw key shown exactly once, revoked, never edited;
their default webhook target set, and webhook secrets generated (each shown once too)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from documents.models import Document
from ilios import auth
from ilios.admin_support import changelist_link
from ilios.models import ApiKey
from jobs import webhooks
from usage.models import UsageRecord

admin.site.site_header = "Ilios operations"
admin.site.site_title = "Ilios admin"
admin.site.index_template = "admin/ilios_index.html"


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "active", "webhook_url")

    def clean_webhook_url(self):
        """The same checks as a request's webhookUrl, so a default can always be signed."""
        url = self.cleaned_data["webhook_url"].strip()
        if url:
            try:
                webhooks.check_target(url)
            except webhooks.RefusedTarget as exc:
                raise forms.ValidationError(str(exc)) from None
            if webhooks.signing_secret(self.instance) is None:
                raise forms.ValidationError(
                    "this key has no webhook secret and WEBHOOK_SECRET is not set: generate "
                    "one for the key first (action “Generate new webhook secrets”)"
                )
        return url


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "prefix",
        "active",
        "from_environment",
        "created_at",
        "last_used_at",
        "documents",
        "usage",
    )
    list_filter = ("active", "from_environment", "created_at", "last_used_at")
    search_fields = ("name", "prefix")
    readonly_fields = (
        "prefix",
        "from_environment",
        "created_at",
        "last_used_at",
        "webhook_secret_state",
    )
    actions = ("revoke", "new_webhook_secrets")

    def get_fields(self, request, obj=None):
        # A new key only needs a name: its secret is generated, never typed in.
        if obj is None:
            return ("name",)
        return ("name", "active", "webhook_url", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw_key = ApiKey.generate(obj.name)
        obj.__dict__.update(created.__dict__)
        obj.raw_key = raw_key
        obj.raw_webhook_secret = obj.new_webhook_secret()

    def response_add(self, request, obj, post_url_continue=None):
        """Show the raw key in this response only: it is never stored, so it cannot travel
        through the session or a cookie on its way to a redirected page."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "key": obj,
            "raw_key": obj.raw_key,
            "raw_webhook_secret": obj.raw_webhook_secret,
        }
        return TemplateResponse(request, "admin/ilios/apikey/created.html", context)

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        from_environment = queryset.filter(active=True, from_environment=True).count()
        revoked = queryset.filter(active=True, from_environment=False).update(active=False)
        auth.forget_keys_check()  # update() sends no post_save
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
        if from_environment:
            self.message_user(
                request,
                f"{from_environment} key(s) come from the API_KEY variable and were left "
                "active: remove them from API_KEY instead.",
                messages.WARNING,
            )

    @admin.display(description="documents")
    def documents(self, key):
        return changelist_link(Document, "documents", api_key=key.pk)

    @admin.display(description="usage")
    def usage(self, key):
        return changelist_link(UsageRecord, "usage", api_key=key.pk)

    @admin.display(description="webhook secret")
    def webhook_secret_state(self, key):
        if key.webhook_secret_sealed:
            return "its own (shown once, when generated)"
        return "WEBHOOK_SECRET" if webhooks.signing_secret(None) else "none: webhooks refused"

    @admin.action(description="Generate new webhook secrets (the old ones stop signing)")
    def new_webhook_secrets(self, request, queryset):
        """Show each new secret in this response only, as a new key is shown."""
        secrets = [(key, key.new_webhook_secret()) for key in queryset.order_by("name")]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Webhook secrets generated",
            "secrets": secrets,
        }
        return TemplateResponse(request, "admin/ilios/apikey/webhook_secrets.html", context)
