"""Data: every data set by name (loaders), CSV files read as they come (reading), what each
column is (columns, through recipes/roles/), and the one `Dataset` shape they are loaded into.
Nothing here knows of models, training or serving."""
