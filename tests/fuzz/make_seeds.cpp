// SPDX-License-Identifier: MIT
// Writes the seed corpora of the fuzz targets (tests/fuzz/<target>/): valid files made by seqnet itself,
// plus edge cases written by hand. Deterministic; scripts/run-fuzz --make-seeds rebuilds and runs it:
//     make_seeds <tests/fuzz directory>
// The PyTorch-made files of tests/data (interop safetensors, tiny word vectors) are seeds too; they are
// copied in by this program so that each corpus stands alone.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

namespace {

std::string root;

std::vector<std::uint8_t> bytes_of(const std::string& text) { return std::vector<std::uint8_t>(text.begin(), text.end()); }

void write(const std::string& target, const std::string& name, const std::vector<std::uint8_t>& bytes) {
  seqnet::write_file(root + "/" + target + "/" + name, bytes);
}
void write(const std::string& target, const std::string& name, const std::string& text) { write(target, name, bytes_of(text)); }

std::vector<std::uint8_t> read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A safetensors file from a header text and a data section.
std::vector<std::uint8_t> file_of(const std::string& header, const std::vector<std::uint8_t>& data = {}) {
  std::vector<std::uint8_t> out;
  seqnet::detail::append_le(out, header.size(), 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string header_of(const std::vector<std::uint8_t>& file) {
  const std::uint64_t n = seqnet::detail::read_le(file.data(), 8);
  return std::string(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
}

std::vector<std::uint8_t> with_selector(std::uint8_t selector, std::vector<std::uint8_t> file) {
  file.insert(file.begin(), selector);
  return file;
}

template <typename T>
seqnet::StateDict<T> with_prefix(const seqnet::StateDict<T>& dict, const std::string& prefix) {
  seqnet::StateDict<T> out;
  for (const auto& [name, tensor] : dict) out.insert(prefix + "." + name, tensor.shape, tensor.values);
  return out;
}

/// One file of every dtype: tensor "t<dtype>" of shape [2] with values 1 and -1 (as the dtype can hold them).
std::vector<std::uint8_t> all_dtypes_file() {
  using seqnet::Dtype;
  const Dtype all[] = {Dtype::BOOL, Dtype::U8,  Dtype::I8,  Dtype::F8_E5M2, Dtype::F8_E4M3, Dtype::I16, Dtype::U16, Dtype::F16,
                       Dtype::BF16, Dtype::I32, Dtype::U32, Dtype::F32,     Dtype::F64,     Dtype::I64, Dtype::U64};
  std::string header = "{";
  std::vector<std::uint8_t> data;
  for (const Dtype dtype : all) {
    const std::size_t item = seqnet::dtype_size(dtype);
    const std::size_t begin = data.size();
    for (int k = 0; k < 2; ++k)
      for (std::size_t b = 0; b < item; ++b) data.push_back(static_cast<std::uint8_t>(k == 0 ? (b == 0 ? 1 : 0) : 0xFF));
    header += std::string(header.size() > 1 ? "," : "") + "\"t" + seqnet::dtype_name(dtype) + "\":{\"dtype\":\"" +
              seqnet::dtype_name(dtype) + "\",\"shape\":[2],\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(data.size()) + "]}";
  }
  header += "}";
  return file_of(header, data);
}

void safetensors_seeds(const std::string& data_dir) {
  const std::string t = "safetensors_file";
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(3, 5).num_layers(2).bidirectional(true).proj_size(2));
  seqnet::GRU<double> gru(seqnet::GRUOptions(3, 4).bias(false));
  seqnet::Linear<float> linear(4, 3);
  seqnet::Embedding<float> embedding(10, 3, 0);
  write(t, "lstm_proj_bidir_f32.safetensors", seqnet::serialize_safetensors(lstm));
  write(t, "gru_f64.safetensors", seqnet::serialize_safetensors(gru));
  write(t, "linear_f16.safetensors", seqnet::serialize_safetensors(linear, seqnet::Dtype::F16));
  write(t, "embedding_bf16_metadata.safetensors",
        seqnet::serialize_safetensors(embedding, seqnet::Dtype::BF16, {{"format", "pt"}, {"note", "caf\xC3\xA9 \"q\"\n"}}));
  write(t, "all_dtypes.safetensors", all_dtypes_file());
  write(t, "empty_header.safetensors", file_of("{}"));
  write(t, "metadata_only.safetensors", file_of("{\"__metadata__\":{\"a\":\"b\",\"c\":\"\"}}"));
  write(t, "scalar_and_empty.safetensors",
        file_of("{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
                "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}}",
                {0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  write(t, "escaped_name_padded.safetensors",
        file_of("{ \"w\\u00e9\\ud83d\\ude00\\n\" : { \"data_offsets\" : [ 0 , 4 ] , \"shape\" : [ 1 , 1 ] , \"dtype\" : \"F32\" } }    ",
                {0, 0, 0x80, 0x3F}));
  write(t, "huge_shape_zero.safetensors",
        file_of("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775807,9223372036854775807],\"data_offsets\":[0,0]}}"));
  write(t, "interop_gru_classifier_io.safetensors", read(data_dir + "/interop/gru_classifier_io.safetensors"));
  write(t, "interop_reg_lstm_bf16.safetensors", read(data_dir + "/interop/reg_lstm_bf16.safetensors"));
}

void json_seeds() {
  const std::string t = "json_header";
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(2, 3).proj_size(1));
  write(t, "lstm_header.json", header_of(seqnet::serialize_safetensors(lstm)));
  write(t, "all_dtypes_header.json", header_of(all_dtypes_file()));
  write(t, "metadata.json", "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\\t\\\"\\\\\\/\\b\\f\\r\\u0000\"}}");
  write(t, "values.json", "[true,false,null,0,-0,1.5e+10,-2E-3,123456789012345678901234567890,\"\",{},[]]");
  write(t, "unicode.json", "{\"caf\xC3\xA9\":\"\\ud83d\\ude00\xE4\xBD\xA0\xE5\xA5\xBD\",\"\\u20AC\":\"\xF0\x9F\x98\x80\"}");
  std::string deep;
  for (int i = 0; i < 32; ++i) deep += "[";
  for (int i = 0; i < 32; ++i) deep += "]";
  write(t, "depth_32.json", deep);
  write(t, "whitespace.json", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n ");
  write(t, "duplicate_key.json", "{\"a\":1,\"a\":2}");
}

void state_dict_seeds() {
  const std::string t = "state_dict_load";
  // Selector bits: module (0-3), strict (0x10), through state_dict (0x20), prefix (0x40); see the target.
  const auto both = [&](const std::string& name, std::uint8_t module, const std::vector<std::uint8_t>& plain,
                        const std::vector<std::uint8_t>& prefixed) {
    write(t, name + "_strict.bin", with_selector(static_cast<std::uint8_t>(module | 0x10), plain));
    write(t, name + "_lenient_dict.bin", with_selector(static_cast<std::uint8_t>(module | 0x20), plain));
    write(t, name + "_prefixed_strict.bin", with_selector(static_cast<std::uint8_t>(module | 0x50), prefixed));
  };
  const std::string data_dir = root + "/../data/interop/";
  write(t, "reg_lstm_f16_strict.bin", with_selector(0x10, read(data_dir + "reg_lstm_f16.safetensors")));
  write(t, "gru_classifier_f16_dict.bin", with_selector(0x31, read(data_dir + "gru_classifier_f16.safetensors")));
  {
    seqnet::LSTM<float> m(seqnet::LSTMOptions(3, 5).num_layers(2).bidirectional(true).proj_size(2));
    both("lstm", 2, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "rnn"), seqnet::Dtype::BF16));
  }
  {
    seqnet::GRU<double> m(seqnet::GRUOptions(3, 4).bias(false));
    both("gru", 3, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "gru"), seqnet::Dtype::F32));
  }
  {
    seqnet::RNN<float> m(seqnet::RNNOptions(2, 3).num_layers(3).nonlinearity(seqnet::Nonlinearity::Relu));
    both("rnn", 4, seqnet::serialize_safetensors(m, seqnet::Dtype::F64), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "rnn")));
  }
  {
    seqnet::Linear<double> m(4, 3);
    both("linear", 5, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "fc"), seqnet::Dtype::F16));
  }
  {
    seqnet::Embedding<float> m(10, 3, 0);
    both("embedding", 6, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "embedding")));
  }
  {
    seqnet::LSTMCell<float> m(3, 4);
    both("lstm_cell", 7, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "cell")));
  }
  {
    seqnet::GRUCell<double> m(2, 3, false);
    both("gru_cell", 8, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "cell")));
  }
  {
    seqnet::RNNCell<float> m(2, 2);
    both("rnn_cell", 9, seqnet::serialize_safetensors(m), seqnet::serialize_safetensors(with_prefix(seqnet::state_dict(m), "cell")));
  }
}

/// word2vec's binary format: "count dim\n", then per word "word " and dim float32 values, then "\n".
std::vector<std::uint8_t> word2vec_binary(const seqnet::WordVectors<float>& vectors, bool newline) {
  std::string out = std::to_string(vectors.size()) + " " + std::to_string(vectors.dim()) + "\n";
  for (seqnet::Index i = 0; i < vectors.size(); ++i) {
    out += vectors.word(i) + " ";
    for (seqnet::Index k = 0; k < vectors.dim(); ++k) {
      const float v = vectors.vectors()(i, k);
      char raw[4];
      std::memcpy(raw, &v, 4);
      out.append(raw, 4);
    }
    if (newline) out += "\n";
  }
  return bytes_of(out);
}

void word_vector_seeds(const std::string& data_dir) {
  const std::string t = "word_vectors_text";
  const std::string glove = data_dir + "/word_vectors/tiny_glove.6d.txt";
  const std::string word2vec = data_dir + "/word_vectors/tiny_word2vec.6d.txt";
  write(t, "tiny_glove.6d.txt", read(glove));
  write(t, "tiny_word2vec.6d.txt", read(word2vec));
  write(t, "bom_crlf_tabs.txt", "\xEF\xBB\xBF" "a 1 2\r\n\r\nb\t+1.5\t-0\t \r\nc 1e-3 2E+2 \r\n");
  write(t, "special_numbers.txt", "x nan inf -inf 1e308\ny 4.9e-324 -1.7976931348623157e308 0x1p3 .5\n");
  write(t, "header_count_mismatch.txt", "3 2\na 1 2\nb 3 4\n");
  write(t, "header_only.txt", "2 3\n");
  write(t, "duplicates.txt", "a 1 2\nb 3 4\na 5 6\n");
  write(t, "header_like_row.txt", "1 2\n1 2 3\n");
  write(t, "ragged.txt", "a 1 2 3\nb 1 2\n");
  write(t, "nbsp_word.txt", "a\xC2\xA0" "b 1\nc 2\n");

  const std::string b = "word2vec_binary";
  const auto vectors = seqnet::WordVectors<float>::load(glove);
  auto binary = word2vec_binary(vectors, true);
  binary.insert(binary.begin(), 0);  // selector: the rest is the file
  write(b, "tiny_binary_newlines.bin", binary);
  binary = word2vec_binary(vectors, false);
  binary.insert(binary.begin(), 2);
  write(b, "tiny_binary_no_newlines.bin", binary);
  // Selector 1: a binary file built from the bytes that follow (count, dim, then words and values).
  write(b, "built_2x3.bin", std::string("\x01\x01\x02\x03hel\x3f\x80\x00\x00\x00\x00\x00\x40\x00\x00\x80\x3f\x01", 19));
  write(b, "built_printable_values.bin", std::string("\x01\x00\x00\x03" "abc" "1234" "\x01", 9));
}

void module_seeds() {
  const std::string t = "module_forward";
  // Byte 0: module kind (0 RNN, 1 LSTM, 2 GRU, 3-5 cells, 6 Linear, 7 Embedding), bit 7: fp64. Then sizes
  // (0..8 directly; 224+ hostile values), flags, and calls; see the target. These pick small valid
  // modules and well-shaped calls, and a few hostile sizes.
  // RNN(3, 4, 2 layers, bias, !batch_first, bidirectional, dropout 0, relu), prepack, eval; 2 calls.
  write(t, "rnn_bidir.bin", std::string("\x00\x03\x04\x02\x01\x00\x01\x00\x01\x01\x00\x01"
                                        "\x02\x02\x03\x03\x01" "abcdefghijklmnopqrstuvwxyz0123456789"
                                        "\x01\x04\x05\x03\x01\x01\x03\x02\x01\x01" "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                        12 + 5 + 36 + 10 + 26));
  // LSTM(2, 5, 1 layer, proj 3), fp64, with h0/c0 of rank 3.
  write(t, "lstm_proj_state.bin", std::string("\x81\x02\x05\x01\x01\x00\x00\x00\x01\x03\x00\x00\x02"
                                              "\x02\x01\x02\x01\x00\x03\x01\x01\x03\x01" "0123456789abcdefghij"
                                              "\x01\x01\x05\x01" "klmnopqrst",
                                              13 + 10 + 20 + 4 + 10));
  write(t, "gru_lengths.bin", std::string("\x02\x03\x03\x01\x01\x01\x00\x00\x00\x00\x01\x02"
                                          "\x04\x03\x03\x01\x01\x03\x03\x02\x04\x01\x00"
                                          "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
                                          12 + 11 + 50));
  write(t, "lstm_cell.bin", std::string("\x04\x03\x02\x01\x01\x01\x03\x01" "abcdef" "\x01", 15));
  write(t, "gru_cell_fp64.bin", std::string("\x85\x02\x02\x00\x01\x01\x04\x01\x01" "abcdefgh" "\x01" "xyzw", 22));
  write(t, "rnn_cell_relu.bin", std::string("\x03\x01\x01\x01\x01\x00\x01\x01" "z", 9));
  write(t, "linear.bin", std::string("\x06\x04\x03\x01\x01\x02\x02\x03\x01" "abcdefghijklmnopqrstuvwx", 33));
  write(t, "embedding_padding.bin", std::string("\x07\x08\x03\x01\x05\x01\x05\x02\x03\x0a\x00\xe0\x01", 13));
  // Hostile sizes: LSTM hidden 2^40, Linear 2^26 x 2^26, GRU with 65537 layers, RNN hidden INT64_MAX.
  write(t, "lstm_hidden_2p40.bin", std::string("\x01\x01\xe9\x01\x01\x00\x00\x00", 8));
  write(t, "linear_2p26_square.bin", std::string("\x06\xec\xec\x01\x01", 5));
  write(t, "gru_65537_layers.bin", std::string("\x02\x01\x01\xe5\x01\x00\x00\x00", 8));
  write(t, "rnn_hidden_int64_max.bin", std::string("\x00\x01\xe3\x01\x01\x00\x00\x00", 8));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <tests/fuzz directory>\n");
    return 2;
  }
  root = argv[1];
  const std::string data_dir = root + "/../data";
  safetensors_seeds(data_dir);
  json_seeds();
  state_dict_seeds();
  word_vector_seeds(data_dir);
  module_seeds();
  return 0;
}
