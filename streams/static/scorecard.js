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
