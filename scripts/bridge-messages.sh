#!/usr/bin/env bash
# Re-extract the end-user screens' strings into locale/de/LC_MESSAGES/django.po and compile the .mo.
# Only the bridge is translated (the console stays English), so everything else is ignored. Needs gettext.
set -euo pipefail
cd "$(dirname "$0")/.."
DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python manage.py makemessages -l de --no-location --no-wrap \
  -i ".venv/*" -i "oauth2_admin/*" -i "truss/*" -i "tests/*" -i "bench/*" -i "staticfiles/*" -i "var/*" \
  -i "templates/oauth2_admin/*" -i "templates/truss/*" -i "templates/registration/*" -i "templates/components/*" \
  -i "templates/base.html" -i "templates/default_base.html" -i "templates/hx_base.html" -i "templates/40*.html" \
  -i "templates/console/*"
msgcat --no-wrap -o locale/de/LC_MESSAGES/django.po locale/de/LC_MESSAGES/django.po
msgfmt --check -o locale/de/LC_MESSAGES/django.mo locale/de/LC_MESSAGES/django.po
echo "locale/de: $(grep -c '^msgid ' locale/de/LC_MESSAGES/django.po) messages; untranslated ones fall back to English."
