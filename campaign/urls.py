from django.urls import path

from . import views

app_name = "campaign"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("campaigns/<slug:slug>/", views.campaign_detail, name="detail"),
]
