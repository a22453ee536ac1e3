"""Machine documents (the JSON contracts): one module per contract, each a pure function from a
core result to the documented dict. Serialising it (JSON, YAML, CSV) is the renderers' job."""
