from django.contrib import admin

from studio.models import (
    ApiToken,
    DatasetSchema,
    DatasetSchemaVersion,
    Membership,
    Project,
    ProviderCredential,
    SeedFile,
    SeedRow,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_select_related = ["project", "user"]


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "provider", "base_url", "key_last4"]
    list_select_related = ["project"]
    # The encrypted key is never shown, not even to staff.
    exclude = ["api_key_encrypted"]
    readonly_fields = ["key_last4"]


@admin.register(DatasetSchema)
class DatasetSchemaAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "version", "updated_at"]
    list_select_related = ["project"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    list_select_related = ["user"]
    exclude = ["token_hash"]
    readonly_fields = ["prefix"]


@admin.register(DatasetSchemaVersion)
class DatasetSchemaVersionAdmin(admin.ModelAdmin):
    list_display = ["schema", "version", "name", "created_at"]
    list_select_related = ["schema"]


@admin.register(SeedFile)
class SeedFileAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "row_count", "size_bytes", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["project"]
    exclude = ["text"]


@admin.register(SeedRow)
class SeedRowAdmin(admin.ModelAdmin):
    list_display = ["seed_file", "index"]
    raw_id_fields = ["seed_file"]
