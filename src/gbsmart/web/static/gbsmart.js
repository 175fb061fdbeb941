// gbsmart's one page script: progressive touches only; every form works without it.
//
// A <select data-shows-fields> shows, inside its form, only the [data-field] blocks its chosen option names in
// data-fields (e.g. the Next steps form: "Set path" shows Path and Route). Hidden blocks' controls are disabled, so
// they are not sent; a [data-no-fields] note shows when the chosen option needs none.
(function () {
  "use strict";

  function showChosenFields(select) {
    var chosen = select.options[select.selectedIndex];
    var wanted = ((chosen && chosen.getAttribute("data-fields")) || "").split(" ").filter(Boolean);
    select.form.querySelectorAll("[data-field]").forEach(function (block) {
      var show = wanted.indexOf(block.getAttribute("data-field")) !== -1;
      block.hidden = !show;
      block.querySelectorAll("input, select, textarea").forEach(function (control) { control.disabled = !show; });
    });
    select.form.querySelectorAll("[data-no-fields]").forEach(function (note) {
      note.hidden = !(chosen && chosen.value) || wanted.length > 0;
    });
  }

  function all() {
    document.querySelectorAll("select[data-shows-fields]").forEach(showChosenFields);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-shows-fields]")) {
      showChosenFields(event.target);
    }
  });
  document.addEventListener("htmx:afterSwap", all);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
})();
