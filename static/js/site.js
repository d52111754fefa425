// The public site's one script; every page works without it.
(function () {
  "use strict";

  // On a phone the filters start folded, so the first story is on the first screen.
  var fold = document.querySelector("details.filters");
  if (fold && window.matchMedia("(max-width: 59.99rem)").matches && !fold.hasAttribute("data-keep-open")) {
    fold.open = false;
  }

  // A filter left empty is not sent: shared addresses carry only what was chosen.
  document.querySelectorAll("form.filters__form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.name && field.value === "") field.disabled = true;
      });
    });
  });

  // A picture that fails to load gives way to the designed placeholder behind it.
  function failed(image) {
    var frame = image.closest("[data-picture]");
    if (frame) frame.classList.add("is-missing");
    image.remove();
  }
  document.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target.tagName === "IMG" && target.closest("main")) failed(target);
  }, true);
  document.querySelectorAll("main img").forEach(function (image) {
    if (image.complete && image.naturalWidth === 0) failed(image);
  });
})();
// Back from the next page (the back-forward cache), the fields left empty work again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form.filters__form [disabled]").forEach(function (field) {
    field.disabled = false;
  });
});
