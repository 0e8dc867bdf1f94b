"""File formats: readers and writers of matrices, vocabularies and tokenizers (native folders,
word2vec / GloVe text and binary files, Hugging Face folders, safetensors, the embedded data
packages). Nothing here builds an ``EmbeddingSpace``: that is :mod:`tokenspace.loaders`' job."""
