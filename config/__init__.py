# Empty on purpose: importing the settings must not load Celery (config/celery.py
# says where its app is loaded instead).
