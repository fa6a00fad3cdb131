"""Settings for bench/load.py's server only: the site's own settings with the
URLconf of bench/load_urls.py, which adds the hello-world floor. The product has
no such URL."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
