from fourdpqa.markdown import table


def test_table_layout_and_alignment():
    assert table(["a", "n"], [["x", 1], ["y", 22]], ["left", "right"]) == "| a | n |\n|---|---:|\n| x | 1 |\n| y | 22 |"
    assert table(["a"], []) == "| a |\n|---|"
