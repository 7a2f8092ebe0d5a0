// Bar file reading: format dispatch, pair detection, input expansion, and the row
// collector shared by the text and Parquet readers.
//
// Choices (see also reader_scalars.cpp for the accepted time formats):
// - Every message is "<file>:<line>: <what> (<value>)" with <file> the path as given and
//   <line> the 1-based physical line (CSV header = line 1; Parquet: 1-based row number).
//   File-level problems have no line: "<file>: empty file", "<file>: no data rows".
// - HistData times without zone are fixed UTC-05:00 unless ReadOptions::tz_offset_minutes
//   says otherwise; generic CSV / Parquet times without zone are UTC unless overridden.
//   A time that carries its own zone (ISO suffix, TIMESTAMP WITH TIME ZONE, epoch
//   seconds) ignores the offset.
// - Volume is stored as given (HistData's 0 means "no volume"; the feature layer decides).
//   A missing optional value (no column, empty field, NULL) is NaN.
// - Identical duplicate rows are dropped (counted); duplicates with different values are
//   an error naming both lines, or with skip_bad_rows the first line is kept and the later
//   one rejected. Out-of-order rows are sorted (stable, so "first" means earliest line).
// - skip_bad_rows quarantines row-level problems only. Structural problems stay fatal:
//   unreadable/empty file, missing header columns, unknown or inconsistent pair. A file
//   whose rows are all rejected is an error ("no valid data rows").
// - The rejects file (ReadOptions::reject_path, if not empty) is overwritten and holds one
//   "line<TAB>message<TAB>raw line" per rejected row, sorted by line; it is written only
//   when there are rejects.
// - A quoted value longer than 200 bytes is cut and ends in "..." (messages only).
#include "io/bar_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/reader_common.h"

namespace bqx {

namespace reader {

// ---------------------------------------------------------------------------------------
// BarCollector
// ---------------------------------------------------------------------------------------

std::string BarCollector::message(uint64_t line, std::string_view what, std::string_view value) const {
  // Keep messages readable when a "line" is really a binary blob: cap the quoted value
  // (the rejects file still has the whole raw line).
  constexpr size_t kMaxValue = 200;
  bool cut = false;
  if (value.size() > kMaxValue) {
    size_t n = kMaxValue;
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
    value = value.substr(0, n);
    cut = true;
  }
  std::string m;
  m.reserve(file_.size() + what.size() + value.size() + 32);
  m.append(file_).append(":").append(std::to_string(line)).append(": ").append(what);
  m.append(" (").append(value).append(cut ? "...)" : ")");
  return m;
}

Status BarCollector::reject(uint64_t line, std::string_view what, std::string_view value, std::string raw) {
  std::string m = message(line, what, value);
  if (!skip_) return make_error(std::move(m));
  ++report_.rows_rejected;
  rejects_.push_back(Reject{line, std::move(m), std::move(raw)});
  return Status::Ok();
}

namespace {
bool same_value(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }
bool same_values(const BarFrame& f, size_t a, size_t b) {
  return same_value(f.open[a], f.open[b]) && same_value(f.high[a], f.high[b]) && same_value(f.low[a], f.low[b]) &&
         same_value(f.close[a], f.close[b]) && same_value(f.volume[a], f.volume[b]) &&
         same_value(f.bid[a], f.bid[b]) && same_value(f.ask[a], f.ask[b]);
}
}  // namespace

Row BarCollector::row_at(size_t i) const {
  Row r;
  r.ts = frame_.ts[i];
  r.v[kOpen] = frame_.open[i];
  r.v[kHigh] = frame_.high[i];
  r.v[kLow] = frame_.low[i];
  r.v[kClose] = frame_.close[i];
  r.v[kVolume] = frame_.volume[i];
  r.v[kBid] = frame_.bid[i];
  r.v[kAsk] = frame_.ask[i];
  r.line = meta_[i].line;
  r.raw_offset = meta_[i].raw_offset;
  r.raw_length = meta_[i].raw_length;
  return r;
}

Result<BarFrame> BarCollector::finish(Pair pair, const std::function<std::string(const Row&)>& time_text,
                                      const std::function<std::string(const Row&)>& raw_text) {
  frame_.pair = pair;
  if (report_.reordered || equal_neighbours_) {
    // Slow path: stable order by ts (rows were added in line order), then resolve duplicates.
    const size_t n = frame_.size();
    std::vector<uint32_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
    if (report_.reordered) {
      std::stable_sort(order.begin(), order.end(),
                       [this](uint32_t a, uint32_t b) { return frame_.ts[a] < frame_.ts[b]; });
    }
    BarFrame out;
    out.pair = pair;
    out.reserve(n);
    size_t i = 0;
    while (i < n) {
      const size_t keep = order[i];
      out.push_back(frame_.at(keep));
      size_t j = i + 1;
      for (; j < n && frame_.ts[order[j]] == frame_.ts[keep]; ++j) {
        const size_t dup = order[j];
        if (same_values(frame_, keep, dup)) {
          ++report_.duplicates_dropped;
          continue;
        }
        const Row row = row_at(dup);
        Status s = reject(row.line, "duplicate timestamp with different values from line " +
                                        std::to_string(meta_[keep].line),
                          time_text(row), raw_text(row));
        if (!s.ok()) return s.error();
      }
      i = j;
    }
    frame_ = std::move(out);
  }
  std::stable_sort(rejects_.begin(), rejects_.end(), [](const Reject& a, const Reject& b) { return a.line < b.line; });
  report_.rejects.clear();
  report_.rejects.reserve(rejects_.size());
  for (const Reject& r : rejects_) report_.rejects.push_back(r.message);
  meta_.clear();
  meta_.shrink_to_fit();
  return std::move(frame_);
}

Status BarCollector::write_rejects(const std::filesystem::path& path) const {
  if (rejects_.empty() || path.empty()) return Status::Ok();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return make_error(path.string() + ": cannot write the rejects file (" + std::strerror(errno) + ")");
  }
  std::string buf;
  for (const Reject& r : rejects_) {
    buf.append(std::to_string(r.line)).append("\t").append(r.message).append("\t").append(r.raw).append("\n");
  }
  const bool ok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return make_error(path.string() + ": cannot write the rejects file (write failed)");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Pair handling
// ---------------------------------------------------------------------------------------

Result<Pair> PairResolver::pair() const {
  if (pair_) return *pair_;
  return error_;
}

Status PairResolver::check_row(const BarCollector& collector, uint64_t line, std::string_view text) {
  text = trim(text);
  if (pair_ && !last_ok_.empty() && text == last_ok_) return Status::Ok();
  std::string letters;
  for (char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) letters.push_back(c);
  }
  auto parsed = parse_pair(letters);
  if (!parsed.ok()) return make_error(collector.message(line, "unknown pair", text));
  if (!pair_) pair_ = *parsed;
  if (!(*parsed == *pair_)) {
    return make_error(collector.message(line, "pair does not match the file's pair " + pair_name(*pair_), text));
  }
  last_ok_ = std::string(text);
  return Status::Ok();
}

Result<Parsed> finish_file(BarCollector& collector, const PairResolver& pair_resolver,
                           const std::function<std::string(const Row&)>& time_text,
                           const std::function<std::string(const Row&)>& raw_text, const ReadOptions& options) {
  if (collector.report().rows_read == 0) return make_error(collector.file() + ": no data rows");
  auto pair = pair_resolver.pair();
  if (!pair.ok()) return pair.error();
  auto frame = collector.finish(*pair, time_text, raw_text);
  if (!frame.ok()) return frame.error();
  BQX_TRY(collector.write_rejects(options.reject_path));
  if (frame->empty()) {
    return make_error(collector.file() + ": no valid data rows (" + std::to_string(collector.report().rows_rejected) +
                      " rejected)");
  }
  return Parsed{std::move(frame).value(), std::move(collector.report())};
}

// ---------------------------------------------------------------------------------------
// Header mapping (CSV and Parquet)
// ---------------------------------------------------------------------------------------

namespace {
std::string normalize_name(std::string_view raw) {
  std::string_view s = trim(raw);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = trim(s.substr(1, s.size() - 2));  // MetaTrader
  return lower(s);
}

int find_first(const std::vector<std::string>& names, std::initializer_list<std::string_view> wanted) {
  for (std::string_view w : wanted) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == w) return static_cast<int>(i);
    }
  }
  return -1;
}
}  // namespace

bool map_columns(const std::vector<std::string>& raw_names, ColumnMap* map, std::string* missing) {
  std::vector<std::string> names;
  names.reserve(raw_names.size());
  for (const auto& n : raw_names) names.push_back(normalize_name(n));
  *map = ColumnMap{};
  const int date_col = find_first(names, {"date"});
  const int time_col = find_first(names, {"time"});
  if (date_col >= 0 && time_col >= 0) {
    map->time = date_col;
    map->time2 = time_col;
  } else {
    // The first column, in header order, that names a time.
    for (size_t i = 0; i < names.size() && map->time < 0; ++i) {
      const std::string& n = names[i];
      if (n == "time" || n == "date" || n == "timestamp" || n == "datetime" || n == "ts") map->time = static_cast<int>(i);
    }
  }
  map->value[kOpen] = find_first(names, {"open"});
  map->value[kHigh] = find_first(names, {"high"});
  map->value[kLow] = find_first(names, {"low"});
  map->value[kClose] = find_first(names, {"close"});
  map->value[kVolume] = find_first(names, {"volume", "tickvol", "tick_volume", "tickvolume", "vol"});
  map->value[kBid] = find_first(names, {"bid"});
  map->value[kAsk] = find_first(names, {"ask"});
  map->pair = find_first(names, {"pair", "symbol"});
  if (map->time < 0) {
    *missing = "time";
    return false;
  }
  for (int f : {kOpen, kHigh, kLow, kClose}) {
    if (map->value[f] < 0) {
      *missing = field_name(f);
      return false;
    }
  }
  return true;
}

}  // namespace reader

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

namespace {

std::string lower_ext(const std::filesystem::path& p) { return reader::lower(p.extension().string()); }

// The whole file in memory: a read-only private mapping for regular files (no copy, no
// zero-filled heap pages), else read() into a string (pipes, /dev/stdin, ...).
class FileData {
 public:
  FileData() = default;
  FileData(const FileData&) = delete;
  FileData& operator=(const FileData&) = delete;
  ~FileData() {
    if (map_ != nullptr) ::munmap(map_, map_size_);
    if (fd_ >= 0) ::close(fd_);
  }

  Status open(const std::filesystem::path& path) {
    const std::string file = path.string();
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return make_error(file + ": cannot open file (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return make_error(file + ": cannot read file (" + std::strerror(errno) + ")");
    if (S_ISDIR(st.st_mode)) return make_error(file + ": is a directory");
    if (S_ISREG(st.st_mode)) {
      if (st.st_size == 0) return Status::Ok();
#ifdef MAP_POPULATE
      constexpr int kFlags = MAP_PRIVATE | MAP_POPULATE;  // prefault: one syscall instead of a fault per page
#else
      constexpr int kFlags = MAP_PRIVATE;
#endif
      void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, kFlags, fd_, 0);
      if (m != MAP_FAILED) {
        map_ = m;
        map_size_ = static_cast<size_t>(st.st_size);
        return Status::Ok();
      }
    }
    char buf[1 << 16];
    while (true) {
      const ssize_t got = ::read(fd_, buf, sizeof buf);
      if (got == 0) break;
      if (got < 0) {
        if (errno == EINTR) continue;
        return make_error(file + ": cannot read file (" + std::strerror(errno) + ")");
      }
      owned_.append(buf, static_cast<size_t>(got));
    }
    return Status::Ok();
  }

  std::string_view view() const {
    if (map_ != nullptr) return std::string_view(static_cast<const char*>(map_), map_size_);
    return owned_;
  }

 private:
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::string owned_;
};

}  // namespace

Result<Pair> pair_from_filename(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  size_t i = 0;
  while (i < name.size()) {
    auto is_letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
    if (!is_letter(name[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < name.size() && is_letter(name[j])) ++j;
    if (j - i == 6) {
      auto pair = parse_pair(std::string_view(name).substr(i, 6));
      if (pair.ok()) return *pair;
    }
    i = j;
  }
  return make_error(path.string() + ": cannot determine the pair from the file name; use --pair (" + name + ")");
}

Result<std::vector<std::filesystem::path>> expand_inputs(const std::vector<std::filesystem::path>& inputs) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  for (const fs::path& input : inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(input, ec);
    if (ec || !fs::exists(st)) return make_error(input.string() + ": no such file or directory");
    if (!fs::is_directory(st)) {
      out.push_back(input);
      continue;
    }
    std::vector<fs::path> found;
    // Symlinked sub-directories are not followed (no cycles); symlinked files are kept.
    fs::recursive_directory_iterator it(input, fs::directory_options::none, ec);
    if (ec) return make_error(input.string() + ": cannot read directory (" + ec.message() + ")");
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
      if (ec) break;
      std::error_code fec;
      if (!it->is_regular_file(fec)) continue;
      const std::string ext = lower_ext(it->path());
      if (ext == ".csv" || ext == ".txt" || ext == ".parquet") found.push_back(it->path());
    }
    if (ec) return make_error(input.string() + ": cannot read directory (" + ec.message() + ")");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

Result<BarFile> read_bar_file(const std::filesystem::path& path, const ReadOptions& options) {
  const std::string file = path.string();
  reader::PairSource pair_source;
  if (options.pair) {
    pair_source.pair = *options.pair;
  } else {
    auto p = pair_from_filename(path);
    if (p.ok()) {
      pair_source.pair = *p;
    } else {
      pair_source.error = p.error();
    }
  }

  BarFormat format = options.format;
  if (format == BarFormat::Auto && lower_ext(path) == ".parquet") format = BarFormat::Parquet;

  Result<reader::Parsed> parsed = make_error("unreachable");
  if (format == BarFormat::Parquet) {
    parsed = reader::read_parquet(file, path, options, pair_source);
  } else {
    FileData data;
    BQX_TRY(data.open(path));
    std::string_view text = data.view();
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    if (format == BarFormat::Auto) {
      // Sniff the first non-blank line.
      std::string_view rest = text;
      std::string_view first;
      while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        std::string_view line = reader::trim(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (!line.empty()) {
          first = line;
          break;
        }
      }
      if (first.empty()) return make_error(file + ": empty file");
      format = reader::looks_like_histdata(first) ? BarFormat::HistData : BarFormat::Csv;
    }
    parsed = reader::read_text(file, text, format, options, pair_source);
  }
  if (!parsed.ok()) return parsed.error();
  BarFile out;
  out.path = path;
  out.format = format;
  out.bars = std::move(parsed->bars);
  out.report = std::move(parsed->report);
  return out;
}

}  // namespace bqx
