/* Debtor portal, "Mijn facturen": keep "Totaal te betalen" equal to what the checkout charges.
 *
 * The server renders the total for the invoices it ticks, and it stays as
 * the total when scripts do not run. This script recomputes the total from
 * the ticked boxes as Account.charge_for in betaalreis/portal/services.py
 * does: the principal, interest and share of the collection costs of each
 * ticked invoice (data-principal, data-interest, data-costs). The total is
 * in an aria-live="polite" region, so screen readers announce a new total.
 * The script hides the note that explains the total to a browser without it.
 */
"use strict";

(function () {
  /* Convert a decimal amount such as "221.48" to cents, so sums stay exact. */
  function toCents(text) {
    return Math.round(Number(text || "0") * 100);
  }

  /* Set the text of an element only when it differs, so screen readers announce only a changed total. */
  function setText(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function updateTotal(form, formatter) {
    let principal = 0;
    let interest = 0;
    let costs = 0;
    for (const box of form.querySelectorAll("input[name=invoices][data-principal]")) {
      if (box.checked) {
        principal += toCents(box.dataset.principal);
        interest += toCents(box.dataset.interest);
        costs += toCents(box.dataset.costs);
      }
    }

    const part = (name) => form.querySelector(`[data-total-part="${name}"]`);
    setText(part("principal"), formatter.format(principal / 100));
    setText(part("interest"), formatter.format(interest / 100));
    setText(part("costs"), formatter.format(costs / 100));
    setText(form.querySelector(".total strong"), formatter.format((principal + interest + costs) / 100));
    for (const element of form.querySelectorAll(".costs-part")) {
      element.hidden = costs === 0;
    }
    const breakdown = form.querySelector(".totals-breakdown");
    if (breakdown) {
      breakdown.hidden = costs === 0 && interest === 0 && !("interestPaid" in form.dataset);
    }
  }

  for (const form of document.querySelectorAll("form.pay-form[data-currency]")) {
    // NOTE: The browser tests check that Intl formats EUR as Babel does on the server (nl-NL, en-GB).
    // Other currencies are not compared, so their symbol may differ from the server's text.
    const formatter = new Intl.NumberFormat(form.dataset.locale, { style: "currency", currency: form.dataset.currency });
    form.addEventListener("change", () => updateTotal(form, formatter));
    for (const note of form.querySelectorAll(".total-without-script")) {
      note.hidden = true;
    }
    // The browser may restore other ticks than the server rendered, for example after the back button.
    updateTotal(form, formatter);
  }
})();
