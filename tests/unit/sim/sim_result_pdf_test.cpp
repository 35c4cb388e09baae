// The result PDF is a well-formed PDF file: what a reader checks first (the header, the
// cross-reference table's offsets, the trailer) holds, and the text is escaped.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "lab_orders/sim/result_pdf.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

ResultVersion SampleReport() {
  ResultVersion version;
  version.status = "final";
  version.interpretation = "abnormal";
  version.results = json::array(
      {{{"name", "Thyroid Peroxidase (TPO) Ab"},
        {"result", "61"},
        {"unit", "IU/mL"},
        {"interpretation", "abnormal"}},
       {{"name", "hCG, Beta Subunit, Qual, Serum"}, {"result", "Negative"}, {"unit", nullptr}},
       {{"name", "Back\\slash"}, {"result", "<1.0"}, {"unit", "IU/mL"}}});
  version.missing_results = json::array();
  return version;
}

const std::string kOrderId = "00000000-0000-4000-8000-000000000007";

// The number written after `keyword` and a line break (startxref) or a space (/Length).
std::size_t NumberAfter(const std::string& pdf, const std::string& keyword) {
  std::size_t at = pdf.rfind(keyword);
  EXPECT_NE(at, std::string::npos) << keyword;
  return at == std::string::npos ? 0 : std::stoul(pdf.substr(at + keyword.size()));
}

TEST(SimResultPdfTest, HeaderCrossReferenceOffsetsAndTrailerAreRight) {
  std::string pdf = ResultPdf(kOrderId, "1234567890", SampleReport());
  EXPECT_EQ(pdf.rfind("%PDF-1.4\n", 0), 0u);
  ASSERT_GE(pdf.size(), 6u);
  EXPECT_EQ(pdf.substr(pdf.size() - 6), "%%EOF\n");

  std::size_t xref = NumberAfter(pdf, "startxref\n");
  ASSERT_LT(xref, pdf.size());
  ASSERT_EQ(pdf.compare(xref, 5, "xref\n"), 0) << "startxref points at the table";
  std::smatch header;
  std::string table = pdf.substr(xref);
  ASSERT_TRUE(std::regex_search(table, header, std::regex("^xref\n0 ([0-9]+)\n")));
  int count = std::stoi(header[1]);
  EXPECT_EQ(count, 6) << "the free entry and five objects";
  std::size_t entries = xref + std::size_t(header.length(0));
  EXPECT_EQ(pdf.compare(entries, 20, "0000000000 65535 f \n"), 0);
  for (int object = 1; object < count; ++object) {
    std::string entry = pdf.substr(entries + std::size_t(object) * 20, 20);
    ASSERT_TRUE(std::regex_match(entry, std::regex("[0-9]{10} 00000 n \n"))) << entry;
    std::size_t offset = std::stoul(entry.substr(0, 10));
    std::string expected = std::to_string(object) + " 0 obj\n";
    EXPECT_EQ(pdf.compare(offset, expected.size(), expected), 0)
        << "entry " << object << " points at " << pdf.substr(offset, 12);
  }
  EXPECT_THAT(pdf, HasSubstr("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n"));
  EXPECT_THAT(pdf, HasSubstr("/Type /Catalog /Pages 2 0 R"));
  EXPECT_THAT(pdf, HasSubstr("/Count 1"));

  // The content stream is exactly /Length bytes long.
  std::size_t length = NumberAfter(pdf, "/Length ");
  std::size_t stream = pdf.find("stream\n") + 7;
  EXPECT_EQ(pdf.compare(stream + length, 10, "\nendstream"), 0);
}

TEST(SimResultPdfTest, HoldsTheReportsWordsEscapedAndTheSameBytesEachTime) {
  std::string pdf = ResultPdf(kOrderId, "1234567890", SampleReport());
  EXPECT_THAT(pdf, HasSubstr("(Order: " + kOrderId + ") Tj"));
  EXPECT_THAT(pdf, HasSubstr("(Sample: 1234567890) Tj"));
  EXPECT_THAT(pdf, HasSubstr("(Report status: final) Tj"));
  EXPECT_THAT(pdf, HasSubstr("(Thyroid Peroxidase \\(TPO\\) Ab: 61 IU/mL \\(abnormal\\)) Tj"));
  EXPECT_THAT(pdf, HasSubstr("(hCG, Beta Subunit, Qual, Serum: Negative) Tj"));
  EXPECT_THAT(pdf, HasSubstr("(Back\\\\slash: <1.0 IU/mL) Tj"));
  EXPECT_EQ(ResultPdf(kOrderId, "1234567890", SampleReport()), pdf);
  ResultVersion partial = SampleReport();
  partial.status = "partial";
  EXPECT_NE(ResultPdf(kOrderId, "1234567890", partial), pdf);
}

TEST(SimResultPdfTest, TextThatIsNotPrintableAsciiIsReplaced) {
  ResultVersion version = SampleReport();
  version.results[0]["name"] = "Caf\xc3\xa9\n";
  std::string pdf = ResultPdf(kOrderId, "1234567890", version);
  EXPECT_THAT(pdf, HasSubstr("(Caf???: 61 IU/mL \\(abnormal\\)) Tj"));
}

}  // namespace
}  // namespace lab_orders::sim
