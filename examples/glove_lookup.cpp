// 1.2 GloVe vectors: look a word up and get its feature vector. The tutorial downloads torchnlp's GloVe
// (about 2.2 GB); here the same lookup runs on a tiny synthetic file in GloVe's text format that ships
// with seqnet (examples/data/tiny_glove.100d.txt: 30 words, 100 values each, made by
// tools/make_tiny_vectors.py; not GloVe's numbers).
//
//   from torchnlp.word_to_vector import GloVe
//   vectors = GloVe()
//   vectors['hello']
#include <iostream>

#include <seqnet/embedding.hpp>
#include <seqnet/word_vectors.hpp>

#include "print.hpp"

#ifndef SEQNET_EXAMPLE_DATA_DIR
#error "SEQNET_EXAMPLE_DATA_DIR must name the examples/data directory"
#endif

int main() {
  const auto vectors = seqnet::load_word_vectors<float>(SEQNET_EXAMPLE_DATA_DIR "/tiny_glove.100d.txt");
  std::cout << vectors.size() << " words, " << vectors.dim() << " values each\n";

  const seqnet::Tensor<float, 1> hello = vectors["hello"];
  std::cout << py::tensor_str(hello) << '\n';
  std::cout << seqnet::shape(hello) << '\n';
  std::cout << '\n';

  // An unknown word gives a zero vector, as torchnlp's default unk_init does.
  const seqnet::Tensor<float, 1> unknown = vectors["seqnet"];
  std::cout << "'seqnet' in vectors: " << py::str(vectors.contains("seqnet")) << '\n';
  py::check("(vectors['seqnet'] == 0).all()", unknown, seqnet::zeros<float>(vectors.dim()));
  std::cout << '\n';

  // The vectors as an Embedding table (nn.Embedding.from_pretrained): words -> ids -> vectors.
  const seqnet::Embedding<float> embeds = vectors.embedding();
  std::cout << embeds << '\n';
  const auto ids = vectors.ids({"hello", "world"});
  const seqnet::Tensor<float, 2> looked_up = embeds(ids);
  std::cout << seqnet::shape(looked_up) << '\n';
  py::check("(embeds(ids)[0] == vectors['hello']).all()", py::at(looked_up, 0), hello);
}
