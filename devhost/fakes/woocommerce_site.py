"""Store-level endpoints of the WooCommerce fake: where a client reads name, currency, time zone.

`GET /wp-json/` (WordPress index: `name`, `timezone_string`, `gmt_offset`), `GET /data/currencies/
current`, `GET /settings/general` and `GET /system_status`. As on a real host, system_status's
`default_timezone` is PHP's zone ("UTC"), not the store's (reference §5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devhost.fakes.model import StoreModel
from devhost.fakes.woocommerce_render import WC_VERSION, symbol

_CURRENCY_NAMES = {"USD": "United States (US) dollar", "EUR": "Euro", "GBP": "Pound sterling",
                   "CAD": "Canadian dollar", "AUD": "Australian dollar"}


def wordpress_index(store: StoreModel, site: str) -> dict[str, Any]:
    offset = datetime.now(store.shop.zone).utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return {
        "name": store.shop.name,
        "description": "Just another WooCommerce store",
        "url": site,
        "home": site,
        "gmt_offset": int(hours) if hours.is_integer() else hours,
        "timezone_string": store.shop.iana_timezone,
        "namespaces": ["oembed/1.0", "wc/store/v1", "wc/v1", "wc/v2", "wc/v3", "wp/v2"],
        "authentication": {},
        "routes": {},
    }


def current_currency(store: StoreModel, site: str) -> dict[str, Any]:
    code = store.shop.currency
    return {
        "code": code,
        "name": _CURRENCY_NAMES.get(code, code),
        "symbol": symbol(code),
        "_links": {"self": [{"href": f"{site}/wp-json/wc/v3/data/currencies/current"}]},
    }


def general_settings(store: StoreModel) -> list[dict[str, Any]]:
    def setting(setting_id: str, label: str, value: str) -> dict[str, Any]:
        return {"id": setting_id, "label": label, "description": "", "type": "text", "default": "", "tip": "",
                "value": value}

    return [
        setting("woocommerce_store_address", "Address line 1", "1 Main St"),
        setting("woocommerce_store_city", "City", "Springfield"),
        setting("woocommerce_default_country", "Country / State", "US:NY"),
        setting("woocommerce_currency", "Currency", store.shop.currency),
        setting("woocommerce_currency_pos", "Currency position", "left"),
        setting("woocommerce_price_thousand_sep", "Thousand separator", ","),
        setting("woocommerce_price_decimal_sep", "Decimal separator", "."),
        setting("woocommerce_price_num_decimals", "Number of decimals", "2"),
    ]


def system_status(store: StoreModel, site: str) -> dict[str, Any]:
    return {
        "environment": {
            "home_url": site, "site_url": site, "version": WC_VERSION, "wp_version": "6.8.3",
            "wp_multisite": False, "language": "en_US", "server_info": "nginx", "php_version": "8.3.14",
            "default_timezone": "UTC",
        },
        "database": {"wc_database_version": WC_VERSION},
        "active_plugins": [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": WC_VERSION}],
        "settings": {
            "api_enabled": True, "force_ssl": False, "currency": store.shop.currency,
            "currency_symbol": symbol(store.shop.currency), "currency_position": "left",
            "thousand_separator": ",", "decimal_separator": ".", "number_of_decimals": 2,
            "geolocation_enabled": False, "woocommerce_com_connected": "no",
        },
    }
