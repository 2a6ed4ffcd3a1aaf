// Shared by the leaderboard page (/) and My scorecard (/me): money and percentages as shown,
// the translation tables, the sign-in (POST /api/session, docs/access-control.md) and writes
// with the CSRF header.
"use strict";

// A page's texts from one table of {key: [English, 中文]} (each key has both or the page
// fails to load): {en: {key: English}, zh: {key: 中文}}.
function i18n(pairs) {
  const out = {en: {}, zh: {}};
  for (const [key, texts] of Object.entries(pairs)) {
    if (texts.length !== 2) throw new Error(`i18n: ${key} needs an English and a Chinese text`);
    [out.en[key], out.zh[key]] = texts;
  }
  return out;
}

// The symbol a currency code is shown with; any other code follows the amount ("1,000.00 CHF").
const CURRENCY_SYMBOLS = {CNY: "¥", USD: "$", EUR: "€", GBP: "£", JPY: "¥", HKD: "HK$"};

// A money string of the API ("-1234567.80") with thousands separators and the currency
// ("-¥1,234,567.80"), worked on the digits and never through a float, so every cent stays as
// sent. Null is "—"; anything that is not a decimal string is shown as it is.
function fmtMoney(m, currency) {
  if (m == null || m === "") return "—";
  const text = String(m).trim();
  const parts = /^([-+]?)(\d+)(\.\d+)?$/.exec(text);
  if (!parts) return text;
  const [, sign, whole, fraction] = parts;
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (fraction || "");
  const symbol = CURRENCY_SYMBOLS[currency];
  const amount = symbol ? symbol + digits : currency ? `${digits} ${currency}` : digits;
  return (sign === "-" ? "-" : "") + amount;
}

// A ratio as a percentage with one decimal (0.42 -> "42.0%"); null is "—".
function fmtPct(x) { return x == null ? "—" : (x * 100).toFixed(1) + "%"; }

// A rate as a percentage without trailing zeros (0.08 -> "8%", 0.125 -> "12.5%").
function fmtRate(x) { return x == null ? "—" : `${+(x * 100).toFixed(4)}%`; }

// The CSRF value of a signed-in browser (the readable scorecard_csrf cookie).
function csrf() { const m = document.cookie.match(/(?:^|; )scorecard_csrf=([^;]*)/); return m ? decodeURIComponent(m[1]) : ""; }

// A write signed in by cookie: JSON body, CSRF header; [status, answer].
async function post(path, body, method = "POST") {
  const res = await fetch(path, {method, headers: {"Content-Type": "application/json", "X-Scorecard-CSRF": csrf()},
                                 body: body == null ? undefined : JSON.stringify(body)});
  let answer = {}; try { answer = await res.json(); } catch (e) { /* 204 */ }
  return [res.status, answer];
}

// Sign in with a bearer token: the answer sets the session and CSRF cookies; [ok, answer].
async function signInWith(token) {
  const res = await fetch("/api/session", {method: "POST", headers: {"Authorization": "Bearer " + token.trim()}});
  let answer = {}; try { answer = await res.json(); } catch (e) { /* not JSON */ }
  return [res.ok, answer];
}

// Sign out: both cookies are dropped.
function signOutNow() { return post("/api/session", null, "DELETE"); }

// KPIs whose values are money strings (contract §5), and ratios shown as percentages.
const MONEY_KPIS = new Set(["revenue", "target", "expected_to_date", "projected_revenue", "avg_deal_size", "commission",
                            "market_size", "forecast_revenue"]);
const PERCENT_KPIS = new Set(["weighted_attainment", "attainment", "pace", "win_rate", "complaint_rate", "contact_coverage",
                              "repeat_customer_rate", "market_share", "turnover_rate", "review_coverage",
                              "forecast_attainment", "growth_prev", "growth_yoy"]);

// A number with at most two decimals (4.25 -> "4.25", 37 -> "37"); null is "—".
function fmtNum(x) { return x == null ? "—" : String(+(+x).toFixed(2)); }

// A KPI's value as shown: money with the currency, a ratio as a percentage, else a number.
function fmtKpi(kpi, v, currency) {
  if (v == null) return "—";
  if (MONEY_KPIS.has(kpi)) return fmtMoney(v, currency);
  if (PERCENT_KPIS.has(kpi)) return fmtPct(v);
  return typeof v === "number" ? fmtNum(v) : String(v);
}

// Each KPI's name in English and 中文 (contract §5, §12); a KPI not listed shows its id.
const KPI_NAMES = i18n({
  revenue:["Revenue", "销售额"], target:["Target", "目标"], attainment:["Attainment", "达成率"],
  weighted_attainment:["Weighted attainment", "加权达成率"], expected_to_date:["Expected to date", "截至目前应达"],
  pace:["Pace", "进度"], projected_revenue:["Projected revenue", "预计销售额"], growth_prev:["Growth on last period", "环比增长"],
  growth_yoy:["Growth on last year", "同比增长"], won_deals:["Deals won", "赢单数"], lost_deals:["Deals lost", "丢单数"],
  win_rate:["Win rate", "赢单率"], avg_deal_size:["Average deal size", "平均订单金额"],
  avg_cycle_days:["Average cycle (days)", "平均成交周期（天）"], new_customers:["New customers", "新客户数"],
  repeat_customer_rate:["Repeat customer rate", "复购客户率"], customers_served:["Customers served", "服务客户数"],
  complaints:["Complaints", "投诉数"], complaint_rate:["Complaint rate", "投诉率"],
  avg_resolution_hours:["Average resolution (hours)", "平均解决时长（小时）"], csat:["Customer satisfaction", "客户满意度"],
  csat_responses:["Survey responses", "满意度调查份数"], contact_coverage:["Contact coverage", "客户覆盖率"],
  campaigns:["Campaigns", "营销活动数"], training_hours:["Training hours", "培训时长"], market_size:["Market size", "市场规模"],
  market_share:["Market share", "市场份额"], headcount:["Headcount", "人数"], departures:["Departures", "离职人数"],
  turnover_rate:["Turnover rate", "离职率"], tenure_months:["Tenure (months)", "司龄（月）"],
  new_hire_ramp:["New hire ramp", "新人成长倍数"], commission:["Commission", "提成"],
  forecast_revenue:["Forecast", "预测销售额"], forecast_attainment:["Forecast attainment", "预测达成率"],
  review_score:["Review score", "评价得分"], self_rating:["Self rating", "自评"],
  review_coverage:["Review coverage", "评价覆盖率"], team_engagement:["Team engagement", "团队敬业度"]
});
function kpiName(kpi, lang) { return KPI_NAMES[lang][kpi] || kpi; }
