#!/usr/bin/env bash
# Screenshots of the national synthetic register, as the README shows them:
#   bash scripts/screenshots.sh [REGISTER]     (default: target/bench-cache/pages-national.db,
#                                               built with `habeas generate` when missing)
# Serves the register, signs in as a monitor in headless Chromium (selenium, installed with pip
# when missing) and saves the dashboard, the mega-prison's pavilion grid and the findings page
# in docs/screenshots/. Everything in the register is synthetic.
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:-target/bench-cache/pages-national.db}
port=${SHOTS_PORT:-18099}
"${CARGO:-cargo}" build --release --quiet -p habeas
bin="${CARGO_TARGET_DIR:-target}/release/habeas"
if [ ! -e "$db" ]; then
    mkdir -p "$(dirname "$db")"
    "$bin" generate --scale national --seed 1 --recurring-days 60 --register "$db"
fi
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium
password=screenshots-synthetic
printf '%s\n' "$password" | "$bin" --db "$db" user add shots.monitor --role monitor --password-stdin >/dev/null 2>&1 || true
"$bin" --db "$db" serve --addr "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/log/checkpoint" >/dev/null 2>&1 && break
    sleep 0.2
done
SHOTS_URL="http://127.0.0.1:$port" SHOTS_PASSWORD="$password" python3 - <<'PY'
import os, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base = os.environ["SHOTS_URL"]
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600", "--lang=en-GB"]:
    opts.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    d.get(base + "/sign-in")
    d.find_element(By.ID, "name").send_keys("shots.monitor")
    d.find_element(By.ID, "password").send_keys(os.environ["SHOTS_PASSWORD"])
    d.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    time.sleep(1)
    # The figures about now are computed after start-up: wait for the dashboard.
    for _ in range(120):
        d.get(base + "/")
        if d.find_elements(By.ID, "total-held"):
            break
        time.sleep(1)
    os.makedirs("docs/screenshots", exist_ok=True)
    for name, path in [("national-dashboard", "/"),
                       ("national-mega-prison", "/facilities/CECOT-SYN"),
                       ("national-findings", "/findings")]:
        d.get(base + path)
        time.sleep(0.5)
        d.save_screenshot(f"docs/screenshots/{name}.png")
        print(f"docs/screenshots/{name}.png")
finally:
    d.quit()
PY
