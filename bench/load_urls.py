"""The site's URLs plus /bench/hello, for bench/load.py only (bench/load_settings.py).

Hello-world is the floor every page is compared with: the whole middleware stack
and gunicorn, without a query or a template."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def hello(request):
    return HttpResponse("Hello, world\n", content_type="text/plain")


urlpatterns = [path("bench/hello", hello), *site_urlpatterns]
