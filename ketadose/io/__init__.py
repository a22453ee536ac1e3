"""The shell's input side: files, packaged data, folders of templates."""
