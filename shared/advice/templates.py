"""The deterministic phraser: one template per kind that quotes figure values verbatim and no other number.

Templates hold no digits of their own; every number in a title or rationale is the `value` of one of the
draft's figures or of its expected impact (tests check it). The subject (a product title) is data, quoted.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.advice.evidence import AdviceText, RecommendationDraft, RecommendationKind

Values = dict[str, str]
Template = Callable[[RecommendationDraft, Values], AdviceText]


def _values(draft: RecommendationDraft) -> Values:
    return {f.metric: f.value for f in draft.figures}


def _cur(draft: RecommendationDraft) -> str:
    impact = draft.expected_impact
    found = [f.currency for f in draft.figures if f.currency]
    if impact is not None and impact.currency:
        found.append(impact.currency)
    return found[0] if found else ""


def _impact(draft: RecommendationDraft, what: str) -> str:
    i = draft.expected_impact
    if i is None:
        return ""
    unit = f" {i.currency}" if i.currency else ""
    return f" {what}: {i.value}{unit} ({i.arithmetic})."


def _stockout(d: RecommendationDraft, v: Values) -> AdviceText:
    when = "is out of stock" if v["days_to_stockout"] == "0" else f"will run out around {v['stockout_date']}"
    return AdviceText(
        title=f"Reorder {v['reorder_quantity']} units of “{d.subject}”",
        rationale=(f"“{d.subject}” {when}: {v['on_hand']} units on hand, {v['units_sold']} sold recently, and an "
                   f"order takes {v['lead_time_days']} days to arrive. Ordering {v['reorder_quantity']} units now "
                   f"covers the lead time with safety stock." + _impact(d, "Sales it protects")))


def _fast(d: RecommendationDraft, v: Values) -> AdviceText:
    return AdviceText(
        title=f"“{d.subject}” is selling faster with {v['days_of_inventory']} days of stock left",
        rationale=(f"Net sales of “{d.subject}” grew {v['trend_pct']} % within the window "
                   f"({v['net_sales']} {_cur(d)}); "
                   f"{v['on_hand']} units on hand last {v['days_of_inventory']} days at this pace, close to the "
                   f"{v['lead_time_days']}-day lead time. Check the next order."))


def _overstock(d: RecommendationDraft, v: Values) -> AdviceText:
    return AdviceText(
        title=f"“{d.subject}” has {v['days_of_inventory']} days of inventory",
        rationale=(f"{v['on_hand']} units on hand against {v['units_sold']} sold in {v['window_days']} days. Keeping "
                   f"{v['target_cover_days']} days of cover would free {v['excess_units']} units: consider a "
                   f"promotion, a bundle or a smaller next order." + _impact(d, "Excess")))


def _dead(d: RecommendationDraft, v: Values) -> AdviceText:
    value = v.get("stock_value_at_cost") or v.get("stock_value_at_price", "")
    return AdviceText(
        title=f"“{d.subject}” has not sold in {v['window_days']} days",
        rationale=(f"{v['on_hand']} units of “{d.subject}” are in stock ({value} {_cur(d)}) and {v['units_sold']} "
                   f"sold in {v['window_days']} days. Clear it (markdown, bundle, return to supplier) or stop "
                   f"reordering it."))


def _price(d: RecommendationDraft, v: Values) -> AdviceText:
    c = _cur(d)
    return AdviceText(
        title=f"The selling price of “{d.subject}” moved {v['price_change_pct']} %",
        rationale=(f"“{d.subject}” sold at {v['avg_selling_price']} {c} on average recently ({v['units_sold']} units) "
                   f"against {v['avg_selling_price_baseline']} {c} before. Check its price, discounts and "
                   f"compare-at price."))


def _discount(d: RecommendationDraft, v: Values) -> AdviceText:
    return AdviceText(
        title=f"Discounts rose to {v['discount_share_pct']} % of gross sales",
        rationale=(f"Discounts were {v['discounts']} {_cur(d)} of {v['gross_sales']} {_cur(d)} gross sales, "
                   f"{v['discount_share_pct']} % against {v['discount_share_pct_before']} % the period before. Check "
                   f"which codes or automatic discounts are running." + _impact(d, "Extra discounts")))


def _refund(d: RecommendationDraft, v: Values) -> AdviceText:
    if d.product_id is None:
        return AdviceText(
            title=f"Refunds jumped to {v['refund_rate_pct']} % of orders",
            rationale=(f"{v['refunds']} refunds on {v['orders']} orders recently: {v['refund_rate_pct']} % against "
                       f"{v['refund_rate_pct_baseline']} % before. Look at the refund reasons of the last orders."
                       + _impact(d, "Refunds above the usual rate")))
    return AdviceText(
        title=f"Returns of “{d.subject}” jumped to {v['return_share_pct']} % of its sales",
        rationale=(f"{v['returns']} {_cur(d)} of {v['sales']} {_cur(d)} sales of “{d.subject}” were refunded recently "
                   f"({v['return_share_pct']} % against {v['return_share_pct_baseline']} % before). Check the batch, "
                   f"the description and the size guide." + _impact(d, "Returns above the usual share")))


def _revenue(d: RecommendationDraft, v: Values) -> AdviceText:
    c = _cur(d)
    low = d.dedupe_key.endswith(":low")
    return AdviceText(
        title=f"Net sales were {'below' if low else 'above'} the forecast: {v['net_sales']} {c}",
        rationale=(f"Net sales of the last week were {v['net_sales']} {c} against {v['net_sales_expected']} {c} "
                   f"forecast (range {v['net_sales_lower']} to {v['net_sales_upper']} {c}). "
                   + ("Check stock-outs, the storefront and campaigns." if low else "Find what worked and repeat it.")))


def _repeat(d: RecommendationDraft, v: Values) -> AdviceText:
    return AdviceText(
        title=f"Returning customers fell to {v['returning_share_pct']} %",
        rationale=(f"{v['returning_customers']} of {v['customers']} customers were returning ones "
                   f"({v['returning_share_pct']} % against {v['returning_share_pct_before']} % before). A win-back "
                   f"email or a loyalty offer may help." + _impact(d, "Returning customers missing")))


def _conversion(d: RecommendationDraft, v: Values) -> AdviceText:
    if d.product_id is not None:
        return AdviceText(
            title=f"“{d.subject}” is viewed often but rarely bought",
            rationale=(f"{v['product_views']} sessions viewed “{d.subject}” and {v['units_sold']} units sold: "
                       f"units sold per viewing session of {v['view_conversion_pct']} % against "
                       f"{v['store_view_conversion_pct']} % for the store. Check its price, photos, description "
                       f"and sizes."
                       + _impact(d, "Units missing at the store's rate")))
    return AdviceText(
        title=f"Conversion fell to {v['conversion_pct']} %",
        rationale=(f"{v['conversion_pct']} % of {v['sessions']} sessions ordered, against {v['conversion_pct_before']} "
                   f"% before. Check checkout, shipping costs and page speed." + _impact(d, "Orders missing")))


def _quality(d: RecommendationDraft, v: Values) -> AdviceText:
    if "unconverted_orders" in v:
        return AdviceText(
            title=f"{v['unconverted_orders']} orders are missing from the figures",
            rationale=(f"{v['unconverted_orders']} orders in {v['unconverted_currencies']} have no exchange rate to "
                       f"the shop's currency, so they are left out ({v['orders']} orders are in the figures). "
                       f"Orders taken through WooPayments' multi-currency carry their rate; check the currency "
                       f"plugin that booked these."))
    if "variants_missing_cost" in v:
        return AdviceText(
            title=f"{v['variants_missing_cost']} variants have no cost",
            rationale=(f"{v['variants_missing_cost']} of {v['variants']} variants ({v['missing_cost_pct']} %) have no "
                       f"unit cost, so margins and stock values leave them out. Add costs in the shop admin."))
    return AdviceText(
        title="The store's data is not up to date",
        rationale=(f"The last successful sync was {v['last_synced_at']} and the newest sync ended as "
                   f"{v['last_sync_status']}. Figures may be stale; reconnect the store or start a sync."))


TEMPLATES: dict[RecommendationKind, Template] = {
    RecommendationKind.STOCKOUT_RISK: _stockout, RecommendationKind.FAST_MOVER_LOW_STOCK: _fast,
    RecommendationKind.OVERSTOCK: _overstock, RecommendationKind.DEAD_STOCK: _dead,
    RecommendationKind.PRICE_ANOMALY: _price, RecommendationKind.DISCOUNT_ANOMALY: _discount,
    RecommendationKind.REFUND_SPIKE: _refund, RecommendationKind.REVENUE_ANOMALY: _revenue,
    RecommendationKind.FALLING_REPEAT_RATE: _repeat, RecommendationKind.LOW_CONVERSION: _conversion,
    RecommendationKind.DATA_QUALITY: _quality,
}


class TemplatePhraser:
    """Implements `Phraser` without a model: the same draft always gives the same words."""

    name = "template"

    async def phrase(self, draft: RecommendationDraft) -> AdviceText:
        return self.phrase_sync(draft)

    def phrase_sync(self, draft: RecommendationDraft) -> AdviceText:
        text = TEMPLATES[draft.kind](draft, _values(draft))
        return AdviceText(title=text.title[:200], rationale=text.rationale[:2000])
