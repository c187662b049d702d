// The registration certificate page: the 打印 button prints the page (print CSS hides the chrome).
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", () => window.print());
  }
});
