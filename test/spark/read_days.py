"""Reads day directories of spot-ingest tables with Spark as spot-ml does:
spark.read.parquet('<root>/<type>/hive/y=YYYY/m=MM/d=DD/'), and prints, per
directory, one JSON line with the row count and each column's Spark type.

usage: python read_days.py '<json list of {"table": ..., "path": ...}>'
"""
import json
import sys

from pyspark.sql import SparkSession


def main() -> None:
    wanted = json.loads(sys.argv[1])
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("spot-ingest-spark-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for w in wanted:
            df = spark.read.parquet(w["path"])
            types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
            print(json.dumps({"table": w["table"], "path": w["path"], "count": df.count(), "types": types}), flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
