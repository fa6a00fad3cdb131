from django.urls import path

from . import (
    export_views,
    handin_views,
    official_views,
    privacy_views,
    questionnaire_views,
    update_views,
    views,
)

app_name = "campaign"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("campaigns/<slug:slug>/", views.campaign_detail, name="detail"),
    path(
        "campaigns/<slug:slug>/signatures.csv",
        export_views.signatures_csv,
        name="signatures_csv",
    ),
    path("campaigns/<slug:slug>/preview/", views.campaign_preview, name="preview"),
    path("campaigns/<slug:slug>/signed/", views.campaign_signed, name="signed"),
    path("confirm/<str:token>/", views.signature_confirm_view, name="confirm"),
    path(
        "handin/<int:pk>/download/",
        handin_views.handin_download,
        name="handin_download",
    ),
    path(
        "handin/<int:pk>/progress/",
        handin_views.handin_progress,
        name="handin_progress",
    ),
    path("privacy/", privacy_views.privacy_notice, name="privacy"),
    path("remove/<str:token>/", privacy_views.signature_withdraw_view, name="withdraw"),
    path(
        "updates/stop/<str:token>/",
        update_views.unsubscribe_view,
        name="unsubscribe",
    ),
    path(
        "replies/<str:token>/",
        questionnaire_views.questionnaire_view,
        name="questionnaire",
    ),
    path("officials/<str:token>/", official_views.official_page, name="official_page"),
    path(
        "officials/<str:token>/supporters.csv",
        official_views.official_supporters_csv,
        name="official_supporters_csv",
    ),
]
