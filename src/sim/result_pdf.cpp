// The result PDF, written by hand rather than with a library: five objects (catalog, page tree,
// page, font, content stream) and a cross-reference table whose offsets are counted as the file
// is built. The text uses a standard font, so nothing is embedded.

#include "lab_orders/sim/result_pdf.h"

#include <cstdio>
#include <vector>

namespace lab_orders::sim {
namespace {

// A PDF literal string: backslash and parentheses escaped, anything outside printable ASCII
// shown as '?' (the standard font's encoding is not UTF-8).
std::string PdfString(const std::string& text) {
  std::string out = "(";
  for (char c : text) {
    if (c == '\\' || c == '(' || c == ')') {
      out += '\\';
      out += c;
    } else if (c >= 0x20 && c <= 0x7E) {
      out += c;
    } else {
      out += '?';
    }
  }
  return out + ")";
}

std::string PageText(const std::string& order_id, const std::string& sample_id,
                     const ResultVersion& version) {
  std::vector<std::string> lines = {
      "Order: " + order_id,
      "Sample: " + sample_id,
      "Report status: " + version.status,
      "",
  };
  for (const auto& row : version.results) {
    std::string line = row.value("name", "") + ": " + row.value("result", "");
    if (row.contains("unit") && row["unit"].is_string())
      line += " " + row["unit"].get<std::string>();
    std::string interpretation = row.value("interpretation", "normal");
    if (interpretation != "normal") line += " (" + interpretation + ")";
    lines.push_back(line);
  }
  std::string text =
      "BT\n/F1 16 Tf\n72 720 Td\n" + PdfString("Lab report") + " Tj\n/F1 11 Tf\n16 TL\nT*\n";
  for (const std::string& line : lines) text += "T* " + PdfString(line) + " Tj\n";
  return text + "ET";
}

}  // namespace

std::string ResultPdf(const std::string& order_id, const std::string& sample_id,
                      const ResultVersion& version) {
  std::string content = PageText(order_id, sample_id, version);
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
      "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
  };
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  std::size_t xref_offset = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n";
  // Each entry is exactly 20 bytes, its end of line included: readers seek by that size.
  pdf += "0000000000 65535 f \n";
  for (std::size_t offset : offsets) {
    char entry[21];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref_offset) + "\n%%EOF\n";
  return pdf;
}

}  // namespace lab_orders::sim
