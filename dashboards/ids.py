"""Every component id of the dashboard, in one place."""

from __future__ import annotations


class Shell:
    URL = "url"
    PAGE = "page-content"
    NAV = "nav"
    LANG = "lang-switch"


class Run:
    """Banners saying a page opened on the main job's run."""

    HARDWARE = "run-banner-hardware"
    PLANNER = "run-banner-planner"
    MARKET = "run-banner-market"
    REPORTS = "run-banner-reports"
    REPORT_LINKS = "run-report-links"


class Hardware:
    SELECT = "hw-select"
    METRIC = "hw-metric"
    BARS = "hw-bars"
    ROOFLINE = "hw-roofline"
    PRECISION = "hw-precision"
    TABLE = "hw-table"
    PROFILE = "hw-profile"
    PROFILE_UPLOAD = "hw-profile-upload"
    PROFILE_STORE = "hw-profile-store"
    PROFILE_STATUS = "hw-profile-status"
    PROFILE_SCATTER = "hw-profile-scatter"
    PROFILE_CURVES = "hw-profile-curves"
    PROFILE_HELDOUT = "hw-profile-heldout"


class Planner:
    SAMPLE = "plan-sample"
    EDITOR = "plan-editor"
    UPLOAD = "plan-upload"
    HARDWARE = "plan-hardware"
    RUN = "plan-run"
    STORE = "plan-store"
    STATUS = "plan-status"
    SUMMARY = "plan-summary"
    COST = "plan-cost"
    CAPACITY = "plan-capacity"
    TIMELINE = "plan-timeline"
    DOWNLOAD = "plan-download"
    DOWNLOAD_BUTTON = "plan-download-button"
    MODEL_UPLOAD = "plan-model-upload"
    MODELS = "plan-models"
    MODEL_STATUS = "plan-model-status"
    EXCLUDED = "plan-excluded"


class Market:
    SCENARIO = "mkt-scenario"
    UPLOAD = "mkt-upload"
    STATUS = "mkt-status"
    STORE = "mkt-store"
    DRIVER = "mkt-driver"  # pattern-matching id: {"type": DRIVER, "name": <param>}
    RESET = "mkt-reset"
    METRIC = "mkt-metric"
    FAN = "mkt-fan"
    HEADLINE = "mkt-headline"
    TORNADO = "mkt-tornado"
    COMPARE = "mkt-compare"
    BACKTEST = "mkt-backtest"
    YEAR = "mkt-year"
    LIMITS = "mkt-limits-chart"
    SPLIT = "mkt-split"
    SEGMENTS = "mkt-segments"
    CHINA = "mkt-china"


class Reports:
    FORMAT = "rep-format"
    BUILD = "rep-build"
    DOWNLOAD = "rep-download"
    STATUS = "rep-status"
